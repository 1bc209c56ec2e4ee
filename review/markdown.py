"""Rendering untrusted text (LLM output, gate descriptions) as HTML that cannot run anything, and in
which nothing is invisible.

Two layers, on purpose: markdown-it-py with raw HTML switched off turns `<script>` into text, and
nh3 then keeps only an allow-list of tags and attributes, so a bug or option change in the first
layer still cannot let markup through.

Characters a browser does not show (orchestrator.hidden_text: a NUL, zero-width spaces, bidirectional
controls…) become a visible marker, `<span class="hidden-char" title="U+202E RIGHT-TO-LEFT OVERRIDE">
⟨U+202E⟩</span>`, in escaped text only: `mark_hidden` for the template filter `reveal_hidden` (plain
text), and markdown's own text, code and fence rules here (markdown decodes `&#x202E;` into the
character, so marking its source would miss it). An attribute cannot hold markup: a link's title gets
the marker's text instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import nh3
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

from orchestrator.hidden_text import char_code, char_label, hidden_in, is_hidden


def _marker(char: str) -> str:
    return f'<span class="hidden-char" title="{escape(char_label(char))}">⟨{char_code(char)}⟩</span>'


def _marker_text(char: str) -> str:
    return f"⟨{char_code(char)}⟩"


def mark_hidden(escaped: str, marker: Callable[[str], str] = _marker) -> str:
    """Escaped text (no markup, so no attribute to break) with each hidden character as its marker."""
    if escaped.isprintable():
        return escaped
    return "".join(marker(c) if is_hidden(c) else c for c in escaped)


def _mark_in_attribute(element: str, attribute: str, value: str) -> str:
    return mark_hidden(value, _marker_text)  # an attribute holds text: the marker's text, not its markup


def _normalize(state: StateCore) -> None:
    # markdown-it's own normalize also turns a NUL into U+FFFD (CommonMark asks it, for C programs):
    # the text rules below show it as what it is instead.
    state.src = state.src.replace("\r\n", "\n").replace("\r", "\n")


def _text(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return mark_hidden(escapeHtml(tokens[idx].content))


def _code_inline(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return f"<code{self.renderAttrs(tokens[idx])}>{_text(self, tokens, idx, options, env)}</code>"


def _code_block(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return f"<pre{self.renderAttrs(tokens[idx])}><code>{_text(self, tokens, idx, options, env)}</code></pre>\n"


_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False,
                                # A fence's content, escaped and marked (no highlighting otherwise).
                                "highlight": lambda content, lang, attrs: mark_hidden(escapeHtml(content))})
_md.enable("table")
_md.core.ruler.at("normalize", _normalize)
_md.add_render_rule("text", _text)
_md.add_render_rule("code_inline", _code_inline)
_md.add_render_rule("code_block", _code_block)
# The tokens whose content those rules (and the fence's highlight) show, marked.
_SHOWN = {"text", "code_inline", "code_block", "fence"}

_BLOCK_TAGS = {
    "p", "br", "hr", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "del", "span",
}
_INLINE_TAGS = {"strong", "em", "code", "del", "span"}
# Only the markers' spans: markdown itself writes no span, and a span of any other class is stripped of it.
_MARKER = {"allowed_classes": {"span": {"hidden-char"}}, "attribute_filter": _mark_in_attribute}


def render_markdown(text: str) -> SafeString:
    """Block markdown → sanitized HTML (links keep http/https/mailto only, with rel=noopener)."""
    html = _md.render(text or "")
    return mark_safe(nh3.clean(  # noqa: S308 - nh3 is the sanitizer
        html, tags=_BLOCK_TAGS, url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow",
        attributes={"a": {"href", "title"}, "th": {"align"}, "td": {"align"}, "span": {"title"}}, **_MARKER,
    ))


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""


def render_inline(text: str) -> SafeString:
    """One line of markdown (a summary) → emphasis and code only, no links or blocks."""
    html = _md.renderInline(_first_line(text or ""))
    return mark_safe(nh3.clean(html, tags=_INLINE_TAGS, attributes={"span": {"title"}}, **_MARKER))  # noqa: S308


def _shown(tokens: list[Token]) -> Iterator[str]:
    for token in tokens:
        if token.type in _SHOWN:
            yield token.content
        if token.children and token.type != "image":  # nh3 drops images, alt text and all
            yield from _shown(token.children)


def markdown_hidden(text: str) -> list[str]:
    """The hidden characters render_markdown shows marked in `text`, each occurrence, in order."""
    return [c for content in _shown(_md.parse(text or "")) for c in hidden_in(content)]
