"""The From/To dates people type into the runs list, regression replay, decision log, ledger export
and costs filters (fields `since` and `until`, whole days in UTC): read in one place, so every page
refuses the same things in the same words."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

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
