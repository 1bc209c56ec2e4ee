"""Template helpers for the app shell."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def is_under(path: str, prefix: str) -> bool:
    """True when `path` is the section URL `prefix` or a page below it (marks the current nav item)."""
    return bool(prefix) and prefix != "/" and path.startswith(prefix)
