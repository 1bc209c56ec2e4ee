"""Reads for the runs list (and the regression page's choice of runs): filters from the query string,
and pages of runs newest first (no HTTP here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any

from django.db.models import Count, DateTimeField, DurationField, ExpressionWrapper, F, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from audit.date_range import date_range_parse, within_days
from audit.keyset import keyset_page
from audit.polling import poll_seconds
from orchestrator.models import Run, RunStatus
from orchestrator.registry import workflows
from orchestrator.text_search import text_contains
from orchestrator.value_errors import has_nul
from review.models import ItemStatus, ReviewItem

PAGE_SIZE = 25


@dataclass
class RunFilters:
    workflow: str = ""
    status: str = ""
    label: str = ""
    q: str = ""
    since: date | None = None
    until: date | None = None
    min_cost: Decimal | None = None
    errors: dict[str, str] = field(default_factory=dict)
    # The text as typed for the parsed fields: a form shows it back, so a value that did not parse
    # stays in its box next to its error instead of vanishing.
    raw: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_query(cls, query: Any) -> RunFilters:
        filters = cls(workflow=query.get("workflow", "").strip(), status=query.get("status", "").strip(),
                      label=query.get("label", "").strip(), q=query.get("q", "").strip(),
                      raw={name: query.get(name, "").strip() for name in ("since", "until", "min_cost")})
        dates = date_range_parse(filters.raw)
        filters.since, filters.until = dates.since, dates.until
        filters.errors.update(dates.errors)
        raw_cost = filters.raw["min_cost"]
        if raw_cost:
            try:
                filters.min_cost = Decimal(raw_cost)
            except InvalidOperation:
                filters.errors["min_cost"] = "use a number like 0.05"
            else:
                if not filters.min_cost.is_finite():  # NaN / Infinity parse, but no cost compares to them
                    filters.min_cost = None
                    filters.errors["min_cost"] = "use a number like 0.05"
                else:
                    # To the millionth costs are stored to, upwards (cost ≥ 0.0000005 is cost ≥ 0.000001): an
                    # exponent such as 1e999999 or 1e-999999 is beyond what PostgreSQL compares (a 500).
                    try:
                        filters.min_cost = filters.min_cost.quantize(Decimal("0.000001"), rounding=ROUND_CEILING)
                    except InvalidOperation:
                        filters.min_cost = None
                        filters.errors["min_cost"] = "use a number like 0.05, of at most 22 digits before the point"
        if filters.label and "=" not in filters.label:
            filters.errors["label"] = "use key=value, e.g. department=legal"
        for name in ("q", "workflow", "label"):
            if has_nul(getattr(filters, name)):
                # PostgreSQL refuses a NUL in a query (a 500); no thread id, workflow or label holds one.
                filters.errors[name] = "may not contain the NUL character (%00); remove it"
        if filters.status and filters.status not in RunStatus.values:
            filters.errors["status"] = f"one of {', '.join(RunStatus.values)}"
        return filters

    def queryset(self) -> Any:
        runs = Run.objects.all()
        if self.workflow:
            runs = runs.filter(workflow=self.workflow)
        if self.status and "status" not in self.errors:
            runs = runs.filter(status=self.status)
        if self.label and "label" not in self.errors:
            key, _, value = self.label.partition("=")
            runs = runs.filter(labels__contains={key.strip(): value.strip()})
        if self.q:
            runs = runs.filter(text_contains("orchestrator_run.thread_id", self.q))
        runs = runs.filter(within_days("created_at", self.since, self.until))
        if self.min_cost is not None:
            runs = runs.filter(cost__gte=self.min_cost)
        return runs


def runs_page(*, filters: RunFilters, cursor: str = "", limit: int = PAGE_SIZE) -> dict[str, Any]:
    """Newest first, keyset-paginated on (created_at, id): page N costs the same as page 1.

    Nothing is listed while a filter does not parse: the runs of the other filters alone would
    read as the answer to a question nobody asked."""
    if filters.errors:
        return {"runs": [], "next_cursor": "", "poll_s": 0}
    rows, next_cursor = keyset_page(filters.queryset().select_related("parent"), cursor=cursor, limit=limit)
    times = run_times(rows)
    for run in rows:
        run.times = times[run.pk]
    return {"runs": rows, "next_cursor": next_cursor, "poll_s": poll_seconds(r.status for r in rows)}


@dataclass(frozen=True)
class RunTimes:
    """A run's time split in two: the wall clock from its start to its end (or now) was 1158.6 s for
    a run that worked 4 s and then sat at a gate; the part spent waiting for people is told apart."""

    working_s: float
    waited_s: float
    waiting_now: bool  # parked at a gate (or budget stop) now: the wait still grows

    @property
    def total_s(self) -> float:
        return self.working_s + self.waited_s


def run_times(runs: list[Run]) -> dict[int, RunTimes]:
    """Working and waiting time of each run, from its review items' own times: one grouped query
    for the page (served by the items' (run, step) index), whatever the number of checkpoints.

    A wait is from the item's creation (the step that entered the gate) to its decision; an item
    closed without one (cancelled with its run) waited until the run ended; a pending one until now."""
    now = timezone.now()
    waits = {
        row["run_id"]: row for row in
        ReviewItem.objects.filter(run_id__in=[r.pk for r in runs]).values("run_id").annotate(
            waited=Sum(ExpressionWrapper(
                Coalesce("decided_at", "run__finished_at", Value(now, output_field=DateTimeField()))
                - F("created_at"), output_field=DurationField())),
            pending=Count("id", filter=Q(status=ItemStatus.PENDING)))
    }
    times = {}
    zero = timedelta(0)
    for run in runs:
        # Subtracted as timedeltas (whole microseconds), not as seconds: 60.04 s - 60.0 s in floats is
        # 0.03999… s, which a run page cut to "39 ms".
        total = max(zero, (run.finished_at or now) - run.created_at)
        row = waits.get(run.pk)
        waited = min(total, max(zero, row["waited"])) if row and row["waited"] else zero
        times[run.pk] = RunTimes(working_s=(total - waited).total_seconds(), waited_s=waited.total_seconds(),
                                 waiting_now=bool(row and row["pending"]) and run.finished_at is None)
    return times


REPLAY_COUNT_CAP = 1000


def replay_eligible_count(filters: RunFilters, *, cap: int = REPLAY_COUNT_CAP) -> dict[str, Any]:
    """How many runs the filters choose for a regression replay (a running run is left out, as the
    replay leaves it), said as people read it. Counted no further than `cap` + 1 rows, so a workflow
    with a million runs costs what one with a thousand does: past the cap it is "1,000+"."""
    n = filters.queryset().exclude(status=RunStatus.RUNNING).values("id")[: cap + 1].count()
    return {"n": n, "shown": f"{cap:,}+" if n > cap else f"{n:,}"}


def workflow_names() -> list[str]:
    return sorted(workflows())
