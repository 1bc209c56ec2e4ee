"""Reads for the cost pages: spend by day and dimension, top runs, tokens by type, budget usage,
alerts and the monthly chargeback by label. Spend from the daily roll-up for the days it holds and
from the spend table (one row per billed call) for the rest (orchestrator.spend_rollup)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Window

from audit.date_range import date_range_parse, day_end, day_start
from audit.spreadsheet import csv_text
from orchestrator import cost_admin, cost_alerts
from orchestrator.array_match import matches_any
from orchestrator.label_keys import label_keys_all
from orchestrator.models import TERMINAL_STATUSES, Budget, BudgetUsage, CostAlert, Delivery, Run, RunStatus
from orchestrator.registry import workflows
from orchestrator.spend_rollup import spend_rollup_mark
from orchestrator.value_errors import has_nul
from review.models import ItemStatus, ReviewItem

DIMENSIONS = {"workflow": "Workflow", "model": "Model", "node": "Node", "label": "Label"}
ZERO = Decimal(0)
# Runs that may still spend: a per-run cap guards these (a run stopped by its cap is suspended).
IN_PROGRESS = [status for status in RunStatus.values if status not in TERMINAL_STATUSES]
# The spend chart draws a bar slot per day: a From typed as year 0002 (the first digit of "2025", which
# the date field sends on its own) made a 37 MB page that froze the browser. Three years is plenty.
MAX_DAYS = 1096


@dataclass
class CostFilters:
    since: date
    until: date  # inclusive
    by: str = "workflow"
    label_key: str = ""
    errors: dict[str, str] | None = None
    # The From/To fields as typed (or the default days when left blank): a refused range is shown
    # back as it was typed, next to what is wrong with it, never corrected behind the person's back.
    raw: dict[str, str] = field(default_factory=dict)

    @property
    def start(self) -> datetime:
        return day_start(self.since)

    @property
    def end(self) -> datetime:
        return day_end(self.until)


def parse_filters(params: Any, *, today: date | None = None) -> CostFilters:
    """The dashboard's filters. With `errors`, the page shows no figures: a range it would have to
    guess at (swapped, or a day it could not read) is not the range the person asked about."""
    today = today or datetime.now(UTC).date()
    dates = date_range_parse(params, default_since=today - timedelta(days=29), default_until=today)
    errors = dict(dates.errors)
    since, until = dates.since or today, dates.until or today  # never blank: both have defaults
    if not errors and (until - since).days >= MAX_DAYS:
        errors["since"] = f"show at most {MAX_DAYS:,} days (three years) at a time: move From closer to To"
    raw = {name: (params.get(name) or "").strip() or day.isoformat()
           for name, day in (("since", since), ("until", until))}
    by = params.get("by") or "workflow"
    if by not in DIMENSIONS:
        errors["by"] = f"group by one of: {', '.join(DIMENSIONS)}"
        by = "workflow"
    label_key = (params.get("label_key") or "").strip()
    if has_nul(label_key):
        # PostgreSQL refuses a NUL in a query (a 500); no label key holds one.
        errors["label_key"] = "the label key may not contain the NUL character (%00); choose one from the list"
        label_key = ""
    if by == "label" and not label_key:
        keys = label_keys()
        label_key = keys[0] if keys else ""
    return CostFilters(since=since, until=until, by=by, label_key=label_key, errors=errors, raw=raw)


def label_keys() -> list[str]:
    """The label keys runs were started with (orchestrator.label_keys): the group-by and chargeback
    pickers. Read from their own small table, not from the spend rows (a scan of every billed call
    on each page load: half a second at a million calls)."""
    return label_keys_all(limit=50)


@dataclass
class SpendSummary:
    totals: dict[str, Any]
    by_day: list[dict[str, Any]]  # [{day, key, cost}], key the chosen dimension's value
    top_runs: list[dict[str, Any]]

    @property
    def tokens(self) -> dict[str, int]:
        t = self.totals
        return {"Input (uncached)": max(0, t["input"] - t["cached"]), "Cached input": t["cached"],
                "Output": t["output"]}


# The dashboard's figures in one statement: the totals, spend by day in the chosen dimension, and
# spend by run, of which only the ten costliest leave the database (the rest are counted: the number of
# runs). The days before the roll-up's mark come from its sums (orchestrator.spend_rollup: by workflow,
# node and model; by run and labels), the days from the mark on from their spend rows: a page reads
# some ten thousand sums, not every call of the range (a pass over the spend rows was 1.5 µs a call:
# half a second for 30 days at a million calls over 90). Enough work memory to aggregate by run in memory.
_SUMMARY_SQL = """
WITH raw AS MATERIALIZED (  -- the days not rolled up yet: one row per call
  SELECT (created_at AT TIME ZONE 'UTC')::date AS day, run_id, workflow, node, model, labels, cost, input_tokens,
         output_tokens, cached_tokens, unpriced, partial
  FROM orchestrator_spendevent WHERE created_at >= %(raw_start)s AND created_at < %(end)s
), dims AS (
  SELECT day, workflow, node, model, cost, calls, input_tokens, output_tokens, cached_tokens, unpriced, partial
    FROM orchestrator_spenddaily WHERE day >= %(first)s AND day < %(upto)s
  UNION ALL
  SELECT day, workflow, node, model, cost, 1, input_tokens, output_tokens, cached_tokens, unpriced::int, partial::int
    FROM raw
), runs AS (
  SELECT run_id, sum(cost) AS cost, sum(calls)::bigint AS calls, sum(input_tokens)::bigint AS input,
         sum(output_tokens)::bigint AS output
  FROM (SELECT run_id, cost, calls, input_tokens, output_tokens
          FROM orchestrator_spendrundaily WHERE day >= %(first)s AND day < %(upto)s
        UNION ALL
        SELECT run_id, cost, 1, input_tokens, output_tokens FROM raw) r
  GROUP BY run_id
)
SELECT 'total', NULL::date, NULL, NULL::bigint, sum(cost), sum(calls)::bigint, sum(input_tokens)::bigint,
       sum(output_tokens)::bigint, sum(cached_tokens)::bigint, sum(unpriced)::bigint, sum(partial)::bigint,
       (SELECT count(*) FROM runs), NULL, NULL
  FROM dims
UNION ALL
SELECT 'day', day, key, NULL, sum(cost), NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
  FROM ({by_day}) d GROUP BY day, key
UNION ALL
(SELECT 'run', NULL, r.workflow, g.run_id, g.cost, g.calls, g.input, g.output, NULL, NULL, NULL, NULL, r.thread_id,
        r.status
   -- The ten first, then their runs: joined before the limit, every run of the range was looked up.
   FROM (SELECT * FROM runs ORDER BY cost DESC, run_id LIMIT %(top)s) g LEFT JOIN orchestrator_run r ON r.id = g.run_id
  ORDER BY g.cost DESC, g.run_id)
"""
# Spend by label is summed by run (the labels are the spend rows' own: erasure rewrites both).
_BY_LABEL = """
  SELECT day, coalesce(labels ->> %(label_key)s, '(none)') AS key, cost
    FROM orchestrator_spendrundaily WHERE day >= %(first)s AND day < %(upto)s
  UNION ALL
  SELECT day, coalesce(labels ->> %(label_key)s, '(none)'), cost FROM raw
"""


def _rolled_up(start: datetime, end: datetime) -> dict[str, Any]:
    """Where [start, end) is read from: the days [first, upto) from the roll-up, and the spend rows
    from raw_start to end. The mark is read once, before: a roll-up committed meanwhile adds sums
    only of days from it on, which this read takes from the spend rows, so no call counts twice."""
    first = start.astimezone(UTC).date()
    mark = spend_rollup_mark()
    if mark is None or start != day_start(first):  # (every range the pages ask for starts at midnight)
        return {"first": first, "upto": first, "raw_start": start, "end": end}
    upto = max(first, min(mark, end.astimezone(UTC).date()))
    return {"first": first, "upto": upto, "raw_start": max(start, day_start(upto)), "end": end}


def spend_summary(f: CostFilters, *, top: int = 10) -> SpendSummary:
    """Totals, spend by day in the chosen dimension ('(none)' for a missing label) and the `top`
    costliest runs of the range."""
    if f.by == "label":
        by_day_sql = _BY_LABEL
    else:
        key_sql = {"workflow": "workflow", "model": "model", "node": "workflow || ' · ' || node"}[f.by]
        by_day_sql = f"SELECT day, {key_sql} AS key, cost FROM dims"
    totals = {"cost": ZERO, "calls": 0, "runs": 0, "input": 0, "output": 0, "cached": 0, "unpriced": 0, "partial": 0}
    by_day: list[dict[str, Any]] = []
    runs: list[dict[str, Any]] = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(_SUMMARY_SQL.format(by_day=by_day_sql),
                       {**_rolled_up(f.start, f.end), "label_key": f.label_key, "top": top})
        for (kind, day, key, run_id, cost, calls, tokens_in, tokens_out, cached, unpriced, partial, run_count,
             thread_id, status) in cursor.fetchall():
            if kind == "total" and calls:
                totals = {"cost": cost, "calls": calls, "runs": run_count, "input": tokens_in, "output": tokens_out,
                          "cached": cached, "unpriced": unpriced, "partial": partial}
            elif kind == "day":
                by_day.append({"day": day, "key": key, "cost": cost})
            elif kind == "run":
                runs.append({"run_id": run_id, "thread_id": thread_id, "status": status, "workflow": key,
                             "cost": cost, "calls": calls, "tokens": tokens_in + tokens_out})
    by_day.sort(key=lambda row: (row["day"], row["key"]))
    return SpendSummary(totals=totals, by_day=by_day, top_runs=runs)


def _current_period_start(period: str, today: date) -> date:
    return {"daily": today, "monthly": today.replace(day=1)}.get(period, date(1970, 1, 1))


def budget_rows(*, today: date | None = None) -> list[dict[str, Any]]:
    """Each budget with its current period's usage (per-run budgets: the run closest to its cap)."""
    today = today or datetime.now(UTC).date()
    registered = workflows()
    rows = []
    for budget in Budget.objects.order_by("-active", "name"):
        start = _current_period_start(budget.period, today)
        usage = BudgetUsage.objects.filter(budget=budget, period_start=start)
        if budget.scope == "run":
            # The runs the cap still guards: read through the runs' status index, then each one's
            # usage row by its key, where every usage row the budget ever had was read and sorted
            # (0.4 s per refresh at a million runs), and a finished run held the bar for good. Their
            # number comes with the costliest (a window over the same rows, not a second pass).
            usage = (usage.filter(matches_any("run_key", Run.objects.filter(status__in=IN_PROGRESS).values("id")))
                     .annotate(runs=Window(Count("pk"))))
        usage = usage.order_by("-spent").first()
        runs = (usage.runs if usage else 0) if budget.scope == "run" else None
        spent = usage.spent if usage else ZERO
        reserved = usage.reserved if usage else ZERO
        # A $0 cap lets no call through: it is full however little was spent (it read "0 %", in green,
        # while every run it covers stopped at its first call).
        pct = float((spent + reserved) / budget.cap * 100) if budget.cap else 100.0
        rows.append({
            "budget": budget, "spent": spent, "reserved": reserved, "pct": min(pct, 100.0), "pct_raw": pct,
            "spent_pct": min(float(spent / budget.cap * 100), 100.0) if budget.cap else 100.0,
            "period_start": start, "runs": runs,
            # Saved before workflows were checked, or its workflow retired since: it guards nothing.
            "unregistered": budget.scope == "workflow" and budget.match not in registered,
            "level": "over" if pct >= 100 else "warn" if any(pct >= t for t in budget.soft_thresholds) else "ok",
        })
    return rows


def budget_stops_count() -> int:
    """How many runs wait for a cap decision (the costs page's banner: one count, not the list)."""
    return ReviewItem.objects.filter(kind="budget_exceeded", status=ItemStatus.PENDING).count()


def budget_stops(*, limit: int = 50) -> list[ReviewItem]:
    """Pending budget_exceeded items (runs waiting for a cap decision)."""
    items = list(ReviewItem.objects.filter(kind="budget_exceeded", status=ItemStatus.PENDING)
                 .select_related("run").order_by("-created_at")[:limit])
    for item in items:
        item.facts = cost_admin.budget_item_facts(item)
    for item, budget in zip(items, cost_admin.budget_items_budgets([i.facts for i in items]), strict=True):
        item.cap_now = cost_admin.budget_item_cap_now(item.facts, budget)
    return items


def recent_alerts(*, limit: int = 10) -> list[CostAlert]:
    """The latest alerts, each with `deliveries`: what became of its e-mail and webhook."""
    alerts = list(CostAlert.objects.select_related("budget", "run").order_by("-created_at", "-id")[:limit])
    deliveries: dict[int, list[Delivery]] = {}
    for delivery in Delivery.objects.filter(source=cost_alerts.SOURCE, ref__in=[a.pk for a in alerts]).order_by(
            "channel", "id"):
        deliveries.setdefault(delivery.ref, []).append(delivery)
    for alert in alerts:
        alert.deliveries = deliveries.get(alert.pk, [])
    return alerts


def month_bounds(month: str) -> tuple[datetime, datetime]:
    first = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    if (first.year, first.month) == (9999, 12):  # no month after it to start (answered 500)
        return first, datetime.max.replace(tzinfo=UTC)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return first, nxt


_CHARGEBACK_SQL = """
SELECT value, count(DISTINCT run_id), sum(calls)::bigint, sum(input_tokens)::bigint, sum(cached_tokens)::bigint,
       sum(output_tokens)::bigint, sum(cost)
FROM (SELECT coalesce(labels ->> %(label_key)s, '(unlabelled)') AS value, run_id, calls, input_tokens, cached_tokens,
             output_tokens, cost
        FROM orchestrator_spendrundaily WHERE day >= %(first)s AND day < %(upto)s
      UNION ALL
      SELECT coalesce(labels ->> %(label_key)s, '(unlabelled)'), run_id, 1, input_tokens, cached_tokens, output_tokens,
             cost
        FROM orchestrator_spendevent WHERE created_at >= %(raw_start)s AND created_at < %(end)s) s
GROUP BY 1 ORDER BY 7 DESC, 1
"""


def chargeback_rows(*, month: str, label_key: str) -> list[dict[str, Any]]:
    """The month's spend by the value of label `label_key`: from the roll-up's sums by run for the days
    it holds, from the spend rows for the rest (see spend_summary)."""
    start, end = month_bounds(month)
    with connection.cursor() as cursor:
        cursor.execute(_CHARGEBACK_SQL, {**_rolled_up(start, end), "label_key": label_key})
        return [{"value": r[0], "runs": r[1], "calls": r[2], "input_tokens": r[3], "cached_tokens": r[4],
                 "output_tokens": r[5], "cost": r[6]} for r in cursor.fetchall()]


def chargeback_csv(*, month: str, label_key: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["month", f"label:{label_key}", "runs", "llm_calls", "input_tokens", "cached_input_tokens",
                     "output_tokens", "cost_usd"])
    for r in chargeback_rows(month=month, label_key=label_key):
        writer.writerow([month, csv_text(r["value"]), r["runs"], r["calls"], r["input_tokens"], r["cached_tokens"],
                         r["output_tokens"], f"{r['cost']:.6f}"])
    return out.getvalue()

