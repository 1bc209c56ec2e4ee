"""One-time request keys: what makes a form that must not act twice safe to send twice.

A page that starts, forks or replays something renders a fresh key into its form; the service that
acts keeps the key with what it made, so the same form sent again (a double click, the browser
re-sending it) finds what its first send made instead of making a second one.
"""

from __future__ import annotations

import re
import uuid

# What a request key looks like; the services refuse any other (it names what the request makes).
REQUEST_KEY = re.compile(r"[0-9a-f]{8,16}")


def form_request_key(posted: str | None = None) -> str:
    """The one-time key of a form: the one a re-sent form carries back, or a new one to render (a key
    that is not one of ours is replaced rather than refused forever)."""
    return posted if posted and REQUEST_KEY.fullmatch(posted) else uuid.uuid4().hex[:12]


def request_key_refusal(key: str | None) -> tuple[str, str] | None:
    """Why `key` cannot be a request key, as (message, what its field should hold), or None when it can
    or none was given. Each service that keeps one raises it as its own error."""
    if key is None or REQUEST_KEY.fullmatch(key):
        return None
    return (f"request key {key[:40]!r} must be 8 to 16 lowercase hex characters; reload the form to get one.",
            "8 to 16 lowercase hex characters")
