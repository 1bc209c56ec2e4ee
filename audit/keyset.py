"""Pages newest first, keyed on (created_at, id): page N costs what page 1 does. The runs list and the
decision log page through their rows with it; a cursor names the last row shown."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet


def _cursor(row: Any) -> str:
    return base64.urlsafe_b64encode(f"{row.created_at.isoformat()}|{row.pk}".encode()).decode()


def _position(cursor: str) -> tuple[datetime, int] | None:
    try:
        stamp, _, pk = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(stamp), int(pk)
    except (ValueError, UnicodeDecodeError):
        return None


def keyset_page(rows: QuerySet, *, cursor: str, limit: int) -> tuple[list[Any], str]:
    """(up to `limit` rows older than the cursor's, newest first; the cursor of the next page or "").
    A cursor that does not read (edited by hand) starts from the newest row."""
    rows = rows.order_by("-created_at", "-id")
    position = _position(cursor) if cursor else None
    if position is not None:
        stamp, pk = position
        # The plain `created_at <= stamp` is what the index range starts from: PostgreSQL does not
        # read the OR as a bound, so without it page N walked every newer row (0.3 s mid-way
        # through a million runs, bench/runs_1m.py).
        rows = rows.filter(Q(created_at__lt=stamp) | Q(created_at=stamp, id__lt=pk), created_at__lte=stamp)
    page = list(rows[: limit + 1])
    return page[:limit], (_cursor(page[limit - 1]) if len(page) > limit else "")
