"""An LLM call's settlement and its journal row are written together, and a lost lease splits them
the right way: the provider billed the call, so its spend is always booked (on its hold, and on the
budgets when the hold is given back or released); but only the worker that still holds the run may
journal it (a journal row is what a resumed node replays instead of calling again), and a worker
that lost the lease is told to stop."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orchestrator.budgets import budget_close, budget_settle, budgets_release_expired
from orchestrator.commit import LeaseLost
from orchestrator.journal import journal_load
from orchestrator.models import BudgetReservation, BudgetUsage, JournalEntry, Run, SpendEvent
from orchestrator.services import run_start
from tests.costs.calls import COST, REPLY, reserved_call


def test_a_settled_call_is_journaled_once_and_booked_once_when_its_hold_is_given_back(priced, make_budget):
    budget = make_budget(cap="1.00")
    run = run_start(workflow="cost_probe", input={})
    hold, journal = reserved_call(run)

    budget_settle(sum_node_spend=True, hold=hold, response=REPLY, cost=COST, latency_ms=5.0, journal=journal)

    row = BudgetReservation.objects.get(token=hold.token)
    assert row.used == COST, "the hold knows what its calls cost"
    assert (hold.used, hold.in_flight) == (COST, 0)
    event = SpendEvent.objects.get(run=run)
    assert (event.cost, event.reserved, event.node) == (COST, Decimal("0.01"), "draft")
    entry = JournalEntry.objects.get(run=run)
    assert (entry.kind, entry.visit, entry.call_index, entry.cost) == ("llm", 0, 0, COST)
    # A node re-run in this visit (after a crash) finds the answer here and does not pay again.
    assert journal_load(run.pk, 0)[0].result["text"] == REPLY.text

    budget_close(hold=hold)  # the job ends
    usage = BudgetUsage.objects.get(budget=budget)
    assert (usage.spent, usage.reserved) == (COST, Decimal(0))
    assert not BudgetReservation.objects.exists()


def test_a_call_settling_after_its_hold_was_given_back_is_journaled_once_and_booked_on_the_budgets(
        priced, make_budget):
    budget = make_budget(cap="1.00")
    run = run_start(workflow="cost_probe", input={})
    hold, journal = reserved_call(run)
    budget_close(hold=hold)  # given back while the call was in flight (its job moved to a new hold)

    budget_settle(sum_node_spend=True, hold=hold, response=REPLY, cost=COST, latency_ms=5.0, journal=journal)

    assert JournalEntry.objects.filter(run=run).count() == 1
    assert SpendEvent.objects.filter(run=run).count() == 1
    usage = BudgetUsage.objects.get(budget=budget)
    assert (usage.spent, usage.reserved) == (COST, Decimal(0)), "booked on the budget directly"
    assert not hold.live


def test_a_call_returning_after_the_lease_moved_on_is_booked_but_not_journaled(priced, make_budget, wait_for, short_holds):
    budget = make_budget(cap="1.00")
    run = run_start(workflow="cost_probe", input={})
    hold, journal = reserved_call(run)
    Run.objects.filter(pk=run.pk).update(lease_token=8)  # another worker claimed the run mid-call

    with pytest.raises(LeaseLost):
        budget_settle(sum_node_spend=True, hold=hold, response=REPLY, cost=COST, latency_ms=5.0, journal=journal)

    # The fenced worker's hold goes with its lease: the reconciler gives it back, with the call's cost.
    wait_for(lambda: budgets_release_expired() == 1, timeout=20, what="the fenced worker's hold to be released")
    usage = BudgetUsage.objects.get(budget=budget)
    assert usage.spent == COST, "the provider billed the call: the spend counts against the budget"
    assert usage.reserved == 0, "and its hold is freed"
    assert not BudgetReservation.objects.exists()
    assert SpendEvent.objects.filter(run=run).count() == 1
    # The new lease holder runs this visit itself; a row from the fenced worker would have it
    # replay an answer from a node run it does not own.
    assert not JournalEntry.objects.filter(run=run).exists()


def test_a_spend_row_keeps_its_own_values_where_they_differ_from_the_journal_row(priced, make_budget):
    # The two rows are written from their own parameters: where they differ, each keeps its own.
    make_budget(cap="1.00")
    run = run_start(workflow="cost_probe", input={})
    hold, journal = reserved_call(run)
    budget_settle(sum_node_spend=True, hold=hold, response=REPLY, cost=COST, latency_ms=9.5, journal=journal)
    event, entry = SpendEvent.objects.get(run=run), JournalEntry.objects.get(run=run)
    assert (event.latency_ms, entry.latency_ms) == (9.5, 5.0)
    assert (event.cost, event.input_tokens, event.node) == (entry.cost, entry.input_tokens, entry.node) == (
        COST, 12, "draft")
