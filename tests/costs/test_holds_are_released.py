"""A budget hold never outlives its job: a failed run gives it back when the job ends; a cancelled
run's hold is freed by the reconciler once its worker can no longer draw on it, an expired one
whatever happens; a call that returns after its hold was freed is still booked, because the
provider charged it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from orchestrator.budgets import budget_reserve, budget_settle, budgets_release_expired
from orchestrator.llm import LLMResponse
from orchestrator.llm.demo import FAIL_RATE_LIMIT_MARKER
from orchestrator.models import BudgetReservation, BudgetUsage, Run, SpendEvent
from orchestrator.reconciler import EXTRA_PASSES
from orchestrator.services import run_cancel, run_start
from tests.costs.calls import draft_call, leased


def _hold(run: Run, amount: str = "0.01"):
    return budget_reserve(call=draft_call(leased(run)), amount=Decimal(amount))


def test_a_provider_error_frees_the_hold_at_once(priced, advance, make_budget):
    budget = make_budget(cap="1.00")
    run = run_start(workflow="cost_probe", input={"topic": FAIL_RATE_LIMIT_MARKER, "calls": 1})
    assert advance(run) == "failed"
    assert not BudgetReservation.objects.exists()
    usage = BudgetUsage.objects.get(budget=budget)
    assert (usage.spent, usage.reserved) == (Decimal(0), Decimal(0)), "a refused call costs nothing"


def test_a_cancelled_runs_hold_is_freed_once_no_call_can_spend_it(priced, make_budget, wait_for, short_holds):
    budget = make_budget(cap="1.00")
    run = run_start(workflow="cost_probe", input={})
    _hold(run)
    assert BudgetUsage.objects.get(budget=budget).reserved == Decimal("0.01")
    run_cancel(run=run, reason="not needed")
    assert budgets_release_expired in EXTRA_PASSES
    # Its worker learns of the cancel only at its next commit: until then it may still draw on
    # the hold (for its draw window) and its calls may still be in flight (for a call's longest).
    assert budgets_release_expired() == 0
    wait_for(lambda: budgets_release_expired() == 1, timeout=20, what="the hold to expire")
    assert BudgetUsage.objects.get(budget=budget).reserved == 0
    assert not BudgetReservation.objects.exists()


def test_a_live_hold_is_kept_and_an_expired_one_is_freed(priced, make_budget):
    budget = make_budget(cap="1.00")
    run = run_start(workflow="cost_probe", input={})
    _hold(run)
    assert budgets_release_expired() == 0, "the run still runs under the same lease: its call may return"
    BudgetReservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert budgets_release_expired() == 1
    assert BudgetUsage.objects.get(budget=budget).reserved == 0


def test_a_call_returning_after_its_hold_was_freed_is_still_booked(priced, make_budget, wait_for, short_holds):
    budget = make_budget(cap="1.00")
    run = run_start(workflow="cost_probe", input={})
    hold = _hold(run)
    Run.objects.filter(pk=run.pk).update(status="queued")  # the worker was taken for dead
    wait_for(lambda: budgets_release_expired() == 1, timeout=20, what="the hold to expire")
    reply = LLMResponse(text="late", model="demo-small", provider="demo", input_tokens=10, output_tokens=20)
    budget_settle(sum_node_spend=False, hold=hold, response=reply, cost=Decimal("0.004"), latency_ms=5.0)
    usage = BudgetUsage.objects.get(budget=budget)
    assert (usage.spent, usage.reserved) == (Decimal("0.004"), Decimal(0))
    event = SpendEvent.objects.get(run=run)
    assert event.cost == Decimal("0.004") and event.reserved == 0


def test_a_live_jobs_heartbeat_keeps_its_hold_however_long_its_call_streams(priced, make_budget, wait_for):
    # A stream has no total time limit (the SDKs' timeouts bound each read): while the job's lease
    # heartbeat beats, its hold must not expire under the call.
    from django.db.models.functions import Now

    from orchestrator.heartbeat import lease_heartbeat

    make_budget(cap="1.00")
    run = run_start(workflow="cost_probe", input={})
    _hold(run)
    Run.objects.filter(pk=run.pk).update(lease_owner="w-live", lease_expires_at=timezone.now() + timedelta(seconds=30))
    BudgetReservation.objects.update(expires_at=timezone.now() + timedelta(seconds=1))  # nearly up
    with lease_heartbeat(run.pk, 7, "w-live", 2):  # beats every 2/3 s
        wait_for(lambda: BudgetReservation.objects.filter(expires_at__gt=Now() + timedelta(seconds=30)).exists(),
                 timeout=10, what="the heartbeat to push the hold's expiry on")
    assert budgets_release_expired() == 0
    assert BudgetReservation.objects.count() == 1
