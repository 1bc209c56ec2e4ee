"""The From/To dates people type into the runs list, regression replay, decision log, ledger export
and costs filters (fields `since` and `until`, whole days in UTC): read in one place, so every page
refuses the same things in the same words."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Q

DATE_FORMAT = "use a date like 2025-01-31 (YYYY-MM-DD)"
REVERSED = "the start date is after the end date: swap them"
LABELS = {"since": "From", "until": "To"}  # as the forms label the fields


def date_parse(raw: str) -> date:
    """A typed day, or ValueError saying what was typed and the format expected."""
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise ValueError(f"{raw.strip()!r} is not a date: {DATE_FORMAT}") from None


@dataclass(frozen=True)
class DateRange:
    since: date | None
    until: date | None
    errors: dict[str, str] = field(default_factory=dict)  # "since" / "until" → what to fix

    @property
    def reversed(self) -> bool:
        return self.since is not None and self.until is not None and self.since > self.until

    def message(self) -> str:
        """The errors as one line, for a form that shows them above itself: "From: …; To: …"."""
        return "; ".join(f"{LABELS[name]}: {error}" for name, error in self.errors.items())


def date_range_parse(data: Any, *, default_since: date | None = None,
                     default_until: date | None = None) -> DateRange:
    """`since` and `until` from query or form data. A blank or malformed date is its default (a
    malformed one with an error); a start after the end is kept as typed, with an error on `since`:
    each page decides what it shows then."""
    errors: dict[str, str] = {}
    days: dict[str, date | None] = {}
    for name, default in (("since", default_since), ("until", default_until)):
        raw = (data.get(name) or "").strip()
        days[name] = default
        if raw:
            try:
                days[name] = date_parse(raw)
            except ValueError as exc:
                errors[name] = str(exc)
    dates = DateRange(since=days["since"], until=days["until"], errors=errors)
    if dates.reversed:
        errors["since"] = REVERSED
    return dates


def day_start(day: date) -> datetime:
    """The first moment of `day` in UTC, the zone every page shows times in (settings.TIME_ZONE)."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def day_end(day: date) -> datetime:
    """The first moment after `day` (exclusive); the last representable one after 9999-12-31, which
    has no next day (it answered 500)."""
    return datetime.max.replace(tzinfo=UTC) if day == date.max else day_start(day + timedelta(days=1))


def within_days(column: str, since: date | None, until: date | None) -> Q:
    """`column` (a timestamp) on or after the start of `since` and before the end of `until`, either
    open when None. A range of moments, so the column's index serves it: `column__date__gte`
    compares a date computed from every row (the decision log read a million decisions for a day)."""
    bounds = Q()
    if since:
        bounds &= Q(**{f"{column}__gte": day_start(since)})
    if until:
        bounds &= Q(**{f"{column}__lt": day_end(until)})
    return bounds
