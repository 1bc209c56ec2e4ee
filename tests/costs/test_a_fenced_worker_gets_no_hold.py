"""A worker that lost its run's lease gets no budget hold: it must not call the provider at all.

Another worker has claimed the run (the lease token moved on), so whatever the stale worker would
spend is spent for nothing — and a hold it took would crowd out live runs until the reconciler
noticed. The reserve statement checks the lease under the same locks as the cap.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from orchestrator.budgets import budget_reserve
from orchestrator.commit import LeaseLost
from orchestrator.models import BudgetReservation, BudgetUsage, Run
from orchestrator.services import run_start
from tests.costs.calls import draft_call


def test_a_worker_whose_lease_moved_on_is_refused_and_holds_nothing(priced, make_budget):
    budget = make_budget(cap="1.00")
    run = run_start(workflow="cost_probe", input={})
    Run.objects.filter(pk=run.pk).update(status="running", lease_token=7)
    budget_reserve(call=draft_call(run, token=7), amount=Decimal("0.01"))  # worker A's first call, while it held the run
    assert BudgetUsage.objects.get(budget=budget).reserved == Decimal("0.01")

    Run.objects.filter(pk=run.pk).update(lease_token=8)  # worker B claimed the run
    with pytest.raises(LeaseLost):
        budget_reserve(call=draft_call(run, 1, token=7), amount=Decimal("0.02"))

    usage = BudgetUsage.objects.get(budget=budget)
    assert usage.reserved == Decimal("0.01"), "the refused call added nothing to what is held"
    assert usage.spent == 0
    assert BudgetReservation.objects.count() == 1
    assert not BudgetReservation.objects.filter(lease_token=7, call_index=1).exists()

    # The refusal is about the lease, not the budget: the worker that holds the run gets its hold.
    budget_reserve(call=draft_call(run, 1, token=8), amount=Decimal("0.02"))
    assert BudgetUsage.objects.get(budget=budget).reserved == Decimal("0.03")


def test_a_fenced_worker_is_refused_even_before_the_budget_period_has_a_usage_row(priced, make_budget):
    # A new budget (or a new day/month) has no usage row yet: reserve would normally create it and
    # retry. A fenced worker must be refused before that, not after holding on the fresh row.
    run = run_start(workflow="cost_probe", input={})
    budget = make_budget(cap="1.00", period="daily")  # created after the run started: no row yet
    Run.objects.filter(pk=run.pk).update(status="running", lease_token=8)
    with pytest.raises(LeaseLost):
        budget_reserve(call=draft_call(run, token=7), amount=Decimal("0.01"))
    assert not BudgetReservation.objects.exists()
    assert not BudgetUsage.objects.filter(budget=budget, reserved__gt=0).exists()
    assert not BudgetUsage.objects.filter(budget=budget).exists(), "refused before creating the period's row"


def test_a_worker_whose_run_was_requeued_is_refused(priced, make_budget):
    # The reconciler re-queues a run whose lease lapsed without changing its token: the stalled
    # worker still holds the old token, but the run is no longer running under it.
    budget = make_budget(cap="1.00")
    run = run_start(workflow="cost_probe", input={})
    Run.objects.filter(pk=run.pk).update(status="queued", lease_token=7)
    with pytest.raises(LeaseLost):
        budget_reserve(call=draft_call(run, token=7), amount=Decimal("0.01"))
    assert BudgetUsage.objects.filter(budget=budget, reserved__gt=0).count() == 0
    assert not BudgetReservation.objects.exists()
