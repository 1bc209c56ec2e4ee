"""Every LLM call records who spent what: provider, model, tokens by type, cost, latency, run, node,
workflow and labels — in the spend table, the journal and the run total, which all agree."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Sum

from orchestrator.models import BudgetReservation, BudgetUsage, JournalEntry, SpendEvent
from orchestrator.services import run_start


def test_each_call_is_recorded_with_its_run_node_workflow_and_labels(priced, advance, make_budget):
    budget = make_budget(cap="10.00")
    run = run_start(workflow="cost_probe", input={"calls": 2}, labels={"department": "legal", "customer": "acme"})
    assert advance(run) == "completed"
    run.refresh_from_db()

    events = list(SpendEvent.objects.filter(run=run).order_by("id"))
    assert [(e.node, e.call_index) for e in events] == [("draft", 0), ("draft", 1), ("polish", 0), ("polish", 1)]
    for event in events:
        assert event.workflow == "cost_probe"
        assert event.labels == {"department": "legal", "customer": "acme"}
        assert (event.provider, event.model) == ("demo", "demo-small")
        assert event.input_tokens > 0 and event.output_tokens > 0
        assert event.cost > 0 and event.reserved >= event.cost, "a call never costs more than it held"
        assert event.latency_ms >= 0 and not event.partial and not event.unpriced

    journal = JournalEntry.objects.filter(run=run, kind="llm")
    assert sorted(journal.values_list("cost", flat=True)) == sorted(e.cost for e in events)
    total = sum((e.cost for e in events), Decimal(0))
    assert run.cost == total
    assert run.input_tokens == sum(e.input_tokens for e in events)
    assert run.llm_calls == 4
    usage = BudgetUsage.objects.get(budget=budget)
    assert usage.spent == total and usage.reserved == 0
    assert not BudgetReservation.objects.exists()


def test_the_ledger_carries_each_steps_models_tokens_and_cost(priced, advance):
    from audit.models import LedgerEntry
    from orchestrator.state import loads

    run = run_start(workflow="cost_probe", input={"calls": 1})
    advance(run)
    steps = [loads(e.payload) for e in LedgerEntry.objects.filter(run=run, kind="node_completed").order_by("seq_run")]
    assert [s["node"] for s in steps] == ["draft", "polish"]
    spent = SpendEvent.objects.filter(run=run).aggregate(total=Sum("cost"))["total"]
    assert sum(Decimal(s["cost"]) for s in steps) == spent
    assert all(s["models"] == ["demo-small"] and s["input_tokens"] > 0 for s in steps)
