"""Template helpers for the time-travel pages: the state tree, JSON and diff values.

Everything shown here may come from an LLM or a user, so every string is escaped (format_html /
escape); nothing is marked safe before it is escaped.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from orchestrator.blobs import blob_get, is_blob_ref
from orchestrator.models import SuspendReason

register = template.Library()
LEAF_LIMIT = 4000
TEXT_INLINE = 120  # a longer text, or one with a line break, is shown as a text block
PREVIEW = 400


def _json(value: Any, *, indent: int | None = None) -> str:
    return json.dumps(value, ensure_ascii=False, indent=indent, default=str)


@register.filter
def as_json(value: Any, limit: int = LEAF_LIMIT) -> str:
    """Indented JSON text (autoescaped by the template), cut after `limit` characters."""
    text = _json(value, indent=2)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text) - limit} more characters)"


@register.filter
def suspend_reason(code: str) -> str:
    """A suspended run's reason as people say it ("Waiting for a decision"); an unknown code as is."""
    return SuspendReason(code).label if code in SuspendReason.values else code


@register.filter
def duration(seconds: float) -> str:
    """A length of time as people say it: "40 ms", "4.2 s", "3 min 5 s", "19 min", "2 h 5 min", "3 d 4 h".
    Under a tenth of a second, milliseconds ("< 1 ms" below one): "0.0 s" read as no time at all.
    Seconds keep a decimal only while they are all there is; past ten minutes they are noise. A
    number and its unit are joined by a no-break space: a narrow column breaks between them, not in them."""
    return _human_duration(seconds).replace(" ", "\u00a0")


def _human_duration(seconds: float) -> str:
    seconds = max(0.0, float(seconds))
    if seconds < 0.1:
        millis = int(seconds * 1000)  # cut, as seconds are: 99.9 ms is not "100 ms"
        return f"{millis} ms" if millis else "< 1 ms"
    if seconds < 60:
        return f"{int(seconds * 10) / 10:.1f} s"  # cut, not rounded: 59.96 s is not "60.0 s"
    whole = int(seconds)
    if whole < 600:
        return f"{whole // 60} min {whole % 60} s" if whole % 60 else f"{whole // 60} min"
    if whole < 3600:
        return f"{whole // 60} min"
    if whole < 86400:
        hours, minutes = divmod(whole // 60, 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(whole // 3600, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


@register.filter
def human_bytes(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)


def _blob(ref: dict[str, Any]) -> SafeString:
    try:
        preview = blob_get(ref["$blob"])[:PREVIEW * 4].decode("utf-8", "replace")[:PREVIEW]
    except OSError:
        preview = "(the blob's bytes are missing from storage)"
    return format_html(
        '<div class="blob" data-testid="blob"><span class="pill plain">blob</span> '
        '<code class="hash" title="{}">{}…</code> · {} · {} · <a href="{}" download>download</a>'
        '<pre class="preview">{}…</pre></div>',
        ref["$blob"], ref["$blob"][:12], human_bytes(int(ref.get("size", 0))), ref.get("type", ""),
        reverse("audit:blob", args=[ref["$blob"]]), preview,
    )


def _summary_of(value: Any) -> str:
    if is_blob_ref(value):
        return f"blob · {human_bytes(int(value.get('size', 0)))}"
    if isinstance(value, dict):
        return f"object · {len(value)} keys"
    if isinstance(value, list):
        return f"list · {len(value)} items"
    if isinstance(value, str):
        return f"text · {len(value)} chars"
    return type(value).__name__ if value is not None else "null"


def _text_leaf(key: str, value: str) -> SafeString:
    """A long or multi-line text (a document, an LLM's answer) as the text it is: its line breaks as
    breaks, not JSON's \\n and \\" escapes, in a box that scrolls rather than filling the page."""
    shown = value[:LEAF_LIMIT]
    rest = f"… ({len(value) - len(shown):,} more characters)" if len(value) > len(shown) else ""
    return format_html('<div class="leaf text-leaf"><span class="key">{}</span> <span class="muted">text · {} '
                       'character{}</span><pre class="llm-text">{}{}</pre></div>', key, f"{len(value):,}",
                       "" if len(value) == 1 else "s", shown, rest)


def _node(key: str, value: Any, depth: int) -> SafeString:
    if is_blob_ref(value):
        body = _blob(value)
    elif isinstance(value, dict) and value and depth < 8:
        body = mark_safe("".join(_node(k, v, depth + 1) for k, v in value.items()))
    elif isinstance(value, list) and value and depth < 8:
        body = mark_safe("".join(_node(f"[{i}]", v, depth + 1) for i, v in enumerate(value[:500])))
        if len(value) > 500:
            body = format_html('{}<p class="muted">… {} more items</p>', body, len(value) - 500)
    elif isinstance(value, str) and ("\n" in value or len(value) > TEXT_INLINE):
        return _text_leaf(key, value)
    else:
        return format_html('<div class="leaf"><span class="key">{}</span> <code>{}</code></div>',
                           key, as_json(value))
    return format_html('<details{}><summary><span class="key">{}</span> <span class="muted">{}</span></summary>'
                       '<div class="children">{}</div></details>',
                       mark_safe(" open") if depth == 0 and not is_blob_ref(value) else "", key,
                       _summary_of(value), body)


@register.simple_tag
def state_tree(state: dict[str, Any]) -> SafeString:
    """The stored state as nested <details>; blob pointers show size, a preview and a download link."""
    if not state:
        return format_html('<p class="muted">{}</p>', "The state is empty.")
    return format_html('<div class="state-tree" data-testid="state-tree">{}</div>',
                       mark_safe("".join(_node(k, v, 1) for k, v in state.items())))


@register.filter
def short_value(value: Any, limit: int = 160) -> str:
    if is_blob_ref(value):
        return f"blob {value['$blob'][:12]}… ({human_bytes(int(value.get('size', 0)))})"
    text = _json(value)
    return text if len(text) <= limit else f"{text[:limit]}…"


@register.filter
def signed(value: Any) -> str:
    """"+3" for a positive number (or its formatted text), unchanged otherwise."""
    try:
        positive = Decimal(str(value)) > 0
    except InvalidOperation:
        return str(value)
    return f"+{value}" if positive else str(value)


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key) if isinstance(mapping, dict) else None

