"""Spend rows written straight into the table, on a chosen day, for the tests of the cost pages'
figures and their daily roll-up (a real call writes its row at the database's now)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.http import QueryDict

from audit.selectors_costs import chargeback_rows, parse_filters, spend_summary
from orchestrator.models import Run, SpendEvent

TODAY = datetime.now(UTC).date()


def spend_row(run: Run, *, day: date, node: str = "draft", cost: str = "0.10", model: str = "demo-small",
              labels: dict | None = None, at: time = time(12), unpriced: bool = False, partial: bool = False,
              tokens: tuple[int, int, int] = (100, 40, 30)) -> SpendEvent:
    return SpendEvent.objects.create(
        run=run, workflow=run.workflow, node=node, visit=0, call_index=0,
        labels=run.labels if labels is None else labels, provider="demo", model=model, input_tokens=tokens[0],
        output_tokens=tokens[1], cached_tokens=tokens[2], cost=Decimal(cost), unpriced=unpriced, partial=partial,
        created_at=datetime.combine(day, at, tzinfo=UTC))


def days_ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def the_figures(label_key: str, *, since: date, until: date) -> dict:
    """Everything the cost pages show of [since, until]: the summary in each grouping, and the
    chargeback of each month the range touches."""
    figures = {}
    for by in ("workflow", "model", "node", "label"):
        query = QueryDict(mutable=True)
        query.update({"since": since.isoformat(), "until": until.isoformat(), "by": by, "label_key": label_key})
        summary = spend_summary(parse_filters(query))
        figures[by] = (summary.totals, summary.by_day, summary.top_runs)
    for month in sorted({since.strftime("%Y-%m"), until.strftime("%Y-%m")}):
        figures[month] = chargeback_rows(month=month, label_key=label_key)
    return figures
