"""Characters a browser does not show are marked ⟨U+…⟩ wherever untrusted text is rendered, and the
marking opens no door to markup: markdown marks its own text (code too, and characters it decoded from
an entity), a link's title gets the marker as text (an attribute takes no markup), and the sanitizer
still strips anything a model writes. Plain text goes through the `reveal_hidden` filter, which escapes
once. The definition of "hidden" is the one `runs` escapes for the terminal."""

from __future__ import annotations

import json

from django.template import Context, Template
from django.utils.safestring import mark_safe

from orchestrator.hidden_text import is_hidden
from orchestrator.management.commands.runs import _terminal_json
from review.markdown import markdown_hidden, render_inline, render_markdown

ZWSP = '<span class="hidden-char" title="U+200B ZERO WIDTH SPACE">⟨U+200B⟩</span>'
RLO = '<span class="hidden-char" title="U+202E RIGHT-TO-LEFT OVERRIDE">⟨U+202E⟩</span>'
NUL = '<span class="hidden-char" title="U+0000 NULL">⟨U+0000⟩</span>'


def _filtered(value: object) -> str:
    return Template("{% load review_tags %}{{ value|reveal_hidden }}").render(Context({"value": value}))


def test_markdown_marks_them_in_text_code_and_entities_it_decoded():
    html = render_markdown("Pay ap@supp\u200blier.example, IBAN &#x202E;DE89 `x\u200b`\n\n```\nz\u202e\n```\n")

    assert f"ap@supp{ZWSP}lier.example" in html
    assert f"IBAN {RLO}DE89" in html  # decoded from the entity: marking the source would have missed it
    assert f"<code>x{ZWSP}</code>" in html and f"<pre><code>z{RLO}\n</code></pre>" in html
    assert not any(is_hidden(c) for c in html)
    assert markdown_hidden("Pay ap@supp\u200blier.example, IBAN &#x202E;DE89") == ["\u200b", "\u202e"]


def test_markdown_shows_a_nul_as_itself_not_as_a_replacement_character():
    assert str(render_inline("Pay ap@supp\x00lier.example")) == f"Pay ap@supp{NUL}lier.example"


def test_a_link_title_gets_the_marker_as_text_and_no_markup():
    html = render_markdown('[invoice](https://example.com "see\u202e\\" onclick=\\"x")')

    assert 'title="see⟨U+202E⟩&quot; onclick=&quot;x"' in html
    assert "onclick=\"" not in html and html.count("<span") == 0


def test_a_model_cannot_write_a_marker_or_other_markup_itself():
    html = render_markdown('<span class="hidden-char" title="U+0041">⟨U+0041⟩</span> <b onclick="x">b</b>')

    assert "<span" not in html and "<b" not in html and '&lt;span class="hidden-char"' in html


def test_the_filter_escapes_once_and_marks_leaving_lines_and_tabs_alone():
    assert _filtered('<b>"ap@supp\u200blier"</b>\n\tIBAN \u202e') == (
        f"&lt;b&gt;&quot;ap@supp{ZWSP}lier&quot;&lt;/b&gt;\n\tIBAN {RLO}")
    # HTML built already (markdown, which marks its own text) is not marked again, nor escaped.
    assert _filtered(mark_safe("<em>x</em>")) == "<em>x</em>"


def test_the_pages_and_the_terminal_hide_nothing_from_each_other():
    text = "a\u200bb\u202ec\x00d\x9be\u2066f\ufeffg\u00a0h\n\ti"
    marked = _filtered(text)
    escaped = json.loads(_terminal_json(text))

    assert escaped == text  # the terminal's JSON is still the value...
    shown_raw = {c for c in _terminal_json(text) if not c.isascii()}
    assert shown_raw == {"\u00a0"}  # ...with every hidden character escaped (a no-break space is seen
    # as a space, so it is not one), and the page marks exactly those
    assert marked.count('class="hidden-char"') == sum(is_hidden(c) for c in text) == 6
