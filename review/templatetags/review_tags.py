"""Template helpers for showing state values (untrusted: returned as text, escaped by the template, or
by `reveal_hidden`, which also marks the characters a browser would not show)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeData, SafeString, mark_safe
from django.utils.timesince import timesince, timeuntil

from orchestrator.roles import person_name
from review.markdown import mark_hidden
from review.models import DECISION_DONE

register = template.Library()


@register.filter
def as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "$blob" in value:
        return f"(stored as a blob, {value.get('size', '?')} bytes)"
    if value is None:
        return "—"
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


@register.filter
def reveal_hidden(value: Any) -> SafeString:
    """Untrusted text, escaped, with each character a browser would not show (a NUL, a zero-width space,
    a right-to-left override…) as a visible marker, e.g. ⟨U+202E⟩ (review.markdown.mark_hidden): a
    reviewer must not approve "ap@supplier.example" while the value holds "ap@supp\u200blier.example".
    Use it last (`value|as_text|truncatechars:600|reveal_hidden`). HTML built already (markdown, which
    marks its own text) is left as it is: its attributes could not take the markers' markup."""
    if isinstance(value, SafeData):
        return value
    return mark_safe(mark_hidden(escape(value)))  # noqa: S308 - escaped first; the markers are ours


@register.filter
def is_long(value: Any) -> bool:
    text = as_text(value)
    return "\n" in text or len(text) > 90


@register.filter
def humanize_action(action: str) -> str:
    return (action or "").replace("_", " ").strip().capitalize()


@register.filter
def due_phrase(due: datetime | None) -> str:
    """'due in 3 hours' / 'overdue by 5 minutes' / ''."""
    if due is None:
        return ""
    now = timezone.now()
    if due < now:
        return f"overdue by {timesince(due, now).split(',')[0]}"
    return f"due in {timeuntil(due, now).split(',')[0]}"


@register.filter
def age(created: datetime) -> str:
    return timesince(created).split(",")[0]


@register.filter
def decision_done(decision: str) -> str:
    """"Rejected", "Approved with edits"… for a decision's code; a code not known here as it is."""
    return DECISION_DONE.get(decision, decision)


@register.filter
def person(user: Any) -> str:
    """Whom people know: the full name, else the username; "the system" where no one acted."""
    return "the system" if user is None else person_name(user)
