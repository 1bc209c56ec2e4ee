"""The spend dashboard's figures come from one pass over the range's spend rows (totals, spend by day
in the chosen dimension, the costliest runs) and its label pickers from the keys runs were started
with: the same figures the page showed when each was a query of its own, at a fifth of the time on a
million calls (bench/costs_1m.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.http import QueryDict
from django.urls import reverse

from audit.selectors_costs import label_keys, parse_filters, spend_summary
from orchestrator.forks import run_fork
from orchestrator.models import SpendEvent
from orchestrator.services import run_start


def _spend(run, *, node: str, cost: str, days_ago: int = 0, model: str = "demo-small", labels: dict | None = None,
           unpriced: bool = False, partial: bool = False) -> None:
    SpendEvent.objects.create(
        run=run, workflow=run.workflow, node=node, visit=0, call_index=0, labels=run.labels if labels is None else labels,
        provider="demo", model=model, input_tokens=100, output_tokens=40, cached_tokens=30, cost=Decimal(cost),
        unpriced=unpriced, partial=partial, created_at=datetime.now(UTC) - timedelta(days=days_ago))


def test_totals_days_and_top_runs_add_up(db):
    legal = run_start(workflow="research_agent", input={"question": "q"}, labels={"department": "legal"})
    sales = run_start(workflow="research_agent", input={"question": "q"}, labels={"department": "sales"})
    bare = run_start(workflow="research_agent", input={"question": "q"})
    _spend(legal, node="search", cost="0.25", days_ago=1)
    _spend(legal, node="answer", cost="0.50", model="demo-large")
    _spend(sales, node="search", cost="0.10", unpriced=True)
    _spend(bare, node="draft", cost="0.05", partial=True)
    _spend(bare, node="draft", cost="9.00", days_ago=40)  # outside the last 30 days

    summary = spend_summary(parse_filters(QueryDict("by=label&label_key=department")))

    assert summary.totals == {"cost": Decimal("0.90"), "calls": 4, "runs": 3, "input": 400, "output": 160,
                              "cached": 120, "unpriced": 1, "partial": 1}
    assert summary.tokens == {"Input (uncached)": 280, "Cached input": 120, "Output": 160}
    today, yesterday = datetime.now(UTC).date(), datetime.now(UTC).date() - timedelta(days=1)
    assert [(row["day"], row["key"], row["cost"]) for row in summary.by_day] == [
        (yesterday, "legal", Decimal("0.25")), (today, "(none)", Decimal("0.05")),
        (today, "legal", Decimal("0.50")), (today, "sales", Decimal("0.10"))]
    assert [(r["thread_id"], r["workflow"], r["cost"], r["calls"], r["tokens"], r["status"])
            for r in summary.top_runs] == [
        (legal.thread_id, "research_agent", Decimal("0.75"), 2, 280, "queued"),
        (sales.thread_id, "research_agent", Decimal("0.10"), 1, 140, "queued"),
        (bare.thread_id, "research_agent", Decimal("0.05"), 1, 140, "queued")]


def test_a_period_without_spend_has_zero_figures(db):
    summary = spend_summary(parse_filters(QueryDict("since=2001-01-01&until=2001-01-31")))
    assert summary.totals["cost"] == 0 and summary.totals["calls"] == 0 and summary.totals["runs"] == 0
    assert summary.by_day == [] and summary.top_runs == []


def test_the_pickers_list_the_label_keys_of_runs_and_forks(db, client_for, engineer_user):
    run = run_start(workflow="research_agent", input={"question": "q"}, labels={"department": "legal"})
    run_start(workflow="research_agent", input={"question": "q"}, labels={"customer": "acme", "department": "ops"})
    run_fork(run=run, at_step=0, labels={"project": "atlas"})

    assert label_keys() == ["customer", "department", "forked_from", "project"]
    page = client_for(engineer_user).get(reverse("audit:costs")).content.decode()
    for key in ("customer", "department", "forked_from", "project"):
        assert f'<option value="{key}">{key}</option>' in page, f"{key} is missing from the chargeback picker"
