"""Gate descriptions are markdown written from LLM output: rendered, then sanitized, never executable."""

from __future__ import annotations

from review.markdown import render_inline, render_markdown


def test_raw_html_in_markdown_renders_as_text():
    html = render_markdown('Hi <script>alert(1)</script> <img src=x onerror="alert(2)">')

    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html


def test_javascript_links_stay_text_and_others_get_rel_noopener():
    html = render_markdown("[bad](javascript:alert(1)) and [good](https://example.com)")

    assert 'href="javascript' not in html and html.count("<a ") == 1
    assert 'href="https://example.com"' in html and 'rel="noopener noreferrer nofollow"' in html


def test_ordinary_markdown_keeps_its_meaning():
    html = render_markdown("Send to **cfo@example.com**\n\n- one\n- `two`")

    assert "<strong>cfo@example.com</strong>" in html and "<li><code>two</code></li>" in html


def test_a_summary_keeps_emphasis_but_no_links_or_blocks():
    assert str(render_inline("Send to **x** [here](https://e.com)\nsecond line")) == "Send to <strong>x</strong> here"
