"""Rendering untrusted text (LLM output, gate descriptions) as HTML that cannot run anything.

Two layers, on purpose: markdown-it-py with raw HTML switched off turns `<script>` into text, and
nh3 then keeps only an allow-list of tags and attributes, so a bug or option change in the first
layer still cannot let markup through.
"""

from __future__ import annotations

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")

_BLOCK_TAGS = {
    "p", "br", "hr", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "del",
}
_INLINE_TAGS = {"strong", "em", "code", "del"}


def render_markdown(text: str) -> SafeString:
    """Block markdown → sanitized HTML (links keep http/https/mailto only, with rel=noopener)."""
    html = _md.render(text or "")
    return mark_safe(nh3.clean(  # noqa: S308 - nh3 is the sanitizer
        html, tags=_BLOCK_TAGS, attributes={"a": {"href", "title"}, "th": {"align"}, "td": {"align"}},
        url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow",
    ))


def render_inline(text: str) -> SafeString:
    """One line of markdown (a summary) → emphasis and code only, no links or blocks."""
    html = _md.renderInline((text or "").splitlines()[0] if text else "")
    return mark_safe(nh3.clean(html, tags=_INLINE_TAGS, attributes={}))  # noqa: S308
