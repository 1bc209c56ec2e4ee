"""A worker job holds budget once for several calls (orchestrator.budgets.Allowance): fewer holds,
the same caps. The job's calls draw on its hold; what they cost is booked on the budgets when the
job gives the hold back — or when the reconciler releases it after a crash, never while a worker
that lost its run may still draw on it; near a cap a hold shrinks to a quarter of what is left; a
new UTC day takes a new hold; and a budget change makes running jobs take a fresh hold, checked
against the new cap."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum

from orchestrator import budgets
from orchestrator.budgets import Allowance, BudgetExceeded, budget_settle, budgets_release_expired
from orchestrator.cost_admin import BudgetInput, budget_update
from orchestrator.llm import LLMResponse
from orchestrator.models import BudgetReservation, BudgetUsage, Run, SpendEvent
from orchestrator.services import run_cancel, run_start
from tests.costs.calls import draft_call, leased

REPLY = LLMResponse(text="ok", model="demo-small", provider="demo", input_tokens=10, output_tokens=20)


@pytest.fixture
def reserves(monkeypatch) -> list[Decimal]:
    """The holds taken (their granted amounts), watched on the way to the database."""
    taken: list[Decimal] = []
    real = budgets.budget_reserve

    def watched(**kwargs):
        hold = real(**kwargs)
        taken.append(hold.amount)
        return hold

    monkeypatch.setattr(budgets, "budget_reserve", watched)
    return taken


def test_a_run_of_eight_calls_takes_one_hold_and_books_them_all(priced, advance, make_budget, reserves):
    budget = make_budget(cap="5.00")
    run = run_start(workflow="cost_probe", input={"calls": 4})  # two nodes, four calls each
    assert advance(run) == "completed"
    assert len(reserves) == 1, f"one hold for the job's eight calls, not {len(reserves)}"
    spent = SpendEvent.objects.filter(run=run).aggregate(s=Sum("cost"))["s"]
    usage = BudgetUsage.objects.get(budget=budget)
    assert SpendEvent.objects.filter(run=run).count() == 8
    assert (usage.spent, usage.reserved) == (spent, Decimal(0)), "all booked, nothing left held"
    assert not BudgetReservation.objects.exists()
    for event in SpendEvent.objects.filter(run=run):
        assert event.cost <= event.reserved, "each call drew its maximum before it was made"


def test_with_one_call_per_hold_every_call_reserves(priced, advance, make_budget, reserves, settings):
    settings.GATEHOUSE_BUDGET_ALLOWANCE_CALLS = 1
    make_budget(cap="5.00")
    run = run_start(workflow="cost_probe", input={"calls": 2})
    assert advance(run) == "completed"
    assert len(reserves) == 4


def test_a_run_starts_with_its_budget_rows_so_its_first_hold_is_one_statement(priced, advance, make_budget,
                                                                                  monkeypatch):
    per_run = make_budget("Per run", cap="1.00", scope="run")
    daily = make_budget("Daily", cap="5.00", period="daily")
    run = run_start(workflow="cost_probe", input={"calls": 1})
    assert BudgetUsage.objects.filter(budget=per_run, run_key=run.pk).exists(), "created with the run"
    assert BudgetUsage.objects.filter(budget=daily, run_key=0).exists(), "today's shared row too"
    statements: list[str] = []
    real = budgets.execute_prepared

    def watched(sql, params):
        statements.append(sql)
        return real(sql, params)

    monkeypatch.setattr(budgets, "execute_prepared", watched)
    assert advance(run) == "completed"
    assert statements.count(budgets._RESERVE) == 1, "no missing row to create, no second attempt"
    usage = BudgetUsage.objects.get(budget=per_run, run_key=run.pk)
    assert usage.spent == SpendEvent.objects.filter(run=run).aggregate(s=Sum("cost"))["s"] > 0


def test_near_the_cap_a_hold_takes_at_most_a_quarter_of_what_is_left(priced, make_budget):
    make_budget(cap="0.10")
    run = leased(run_start(workflow="cost_probe", input={}))
    allowance = Allowance()
    hold = allowance.draw(call=draft_call(run, 0), amount=Decimal("0.01"))
    assert hold.amount == Decimal("0.025"), "a quarter of $0.10, not eight calls' $0.08"
    # A call larger than a quarter of what is left still gets exactly what it needs, if it fits.
    allowance.undraw(hold, Decimal("0.01"))
    allowance.close()
    big = allowance.draw(call=draft_call(run, 1), amount=Decimal("0.06"))
    assert big.amount == Decimal("0.06")
    allowance.close()
    assert BudgetUsage.objects.get().reserved == 0


def test_a_hold_of_a_dead_worker_is_released_with_what_its_calls_cost(priced, make_budget, wait_for, short_holds):
    budget = make_budget(cap="1.00")
    run = leased(run_start(workflow="cost_probe", input={}))
    allowance = Allowance()
    for index, cost in enumerate((Decimal("0.003"), Decimal("0.004"))):
        hold = allowance.draw(call=draft_call(run, index), amount=Decimal("0.01"))
        budget_settle(sum_node_spend=False, hold=hold, call=draft_call(run, index), drawn=Decimal("0.01"), response=REPLY, cost=cost,
                      latency_ms=1.0)
    assert BudgetReservation.objects.count() == 1
    assert BudgetUsage.objects.get(budget=budget).spent == 0, "booked when the hold is given back"
    Run.objects.filter(pk=run.pk).update(status="queued")  # the worker was taken for dead
    wait_for(lambda: budgets_release_expired() == 1, timeout=20, what="the hold to be released")
    usage = BudgetUsage.objects.get(budget=budget)
    assert (usage.spent, usage.reserved) == (Decimal("0.007"), Decimal(0))


def test_a_lowered_cap_stops_the_job_once_its_call_in_flight_settles(priced, make_budget):
    budget = make_budget(cap="1.00")
    run = leased(run_start(workflow="cost_probe", input={}))
    allowance = Allowance()
    hold = allowance.draw(call=draft_call(run, 0), amount=Decimal("0.01"))
    # The admin lowers the cap below what the job already holds, while its call is in flight.
    budget_update(budget=budget, data=BudgetInput(name=budget.name, scope="global", match="", period="total",
                                                  cap=Decimal("0.02"), soft_thresholds=[], active=True), actor=None)
    assert BudgetReservation.objects.get().revoked
    budget_settle(sum_node_spend=False, hold=hold, call=draft_call(run, 0), drawn=Decimal("0.01"), response=REPLY, cost=Decimal("0.004"),
                  latency_ms=1.0)
    assert not hold.live, "the settlement told the job its hold was revoked"
    # The next call takes a fresh hold against the new cap: $0.004 spent + $0.02 does not fit $0.02.
    with pytest.raises(BudgetExceeded, match="cap \\$0.02"):
        allowance.draw(call=draft_call(run, 1), amount=Decimal("0.02"))
    usage = BudgetUsage.objects.get(budget=budget)
    assert (usage.spent, usage.reserved) == (Decimal("0.004"), Decimal(0)), "the old hold was given back first"
    assert not BudgetReservation.objects.exists()


def test_a_worker_that_lost_its_run_still_finds_its_hold_and_the_cap_holds(priced, make_budget, wait_for, short_holds):
    budget = make_budget(cap="0.05")
    a, b = leased(run_start(workflow="cost_probe", input={})), leased(run_start(workflow="cost_probe", input={}))
    allowance = Allowance()
    hold = allowance.draw(call=draft_call(a, 0), amount=Decimal("0.01"))
    assert hold.amount == Decimal("0.0125")
    budget_settle(sum_node_spend=False, hold=hold, call=draft_call(a, 0), drawn=Decimal("0.01"), response=REPLY, cost=Decimal("0.004"),
                  latency_ms=1.0)
    run_cancel(run=a, reason="not needed")
    assert budgets_release_expired() == 0, "a's worker may not know yet: its hold stays"
    other = Allowance()
    taken = other.draw(call=draft_call(b, 0), amount=Decimal("0.0375"))  # everything that is left
    # a's worker, not knowing, draws its next call on its hold — which is still there.
    assert allowance.draw(call=draft_call(a, 1), amount=Decimal("0.008")) is hold
    budget_settle(sum_node_spend=False, hold=hold, call=draft_call(a, 1), drawn=Decimal("0.008"), response=REPLY, cost=Decimal("0.008"),
                  latency_ms=1.0)
    budget_settle(sum_node_spend=False, hold=taken, call=draft_call(b, 0), drawn=Decimal("0.0375"), response=REPLY, cost=Decimal("0.0375"),
                  latency_ms=1.0)
    other.close()
    wait_for(lambda: budgets_release_expired() == 1, timeout=20, what="a's hold to be released")
    usage = BudgetUsage.objects.get(budget=budget)
    assert usage.spent == Decimal("0.0495") <= budget.cap, "every call was covered by a hold: no overshoot"
    assert usage.reserved == 0


def test_a_new_utc_day_takes_a_new_hold(priced, make_budget, reserves):
    make_budget(cap="1.00", period="daily")
    run = leased(run_start(workflow="cost_probe", input={}))
    allowance = Allowance()
    hold = allowance.draw(call=draft_call(run, 0), amount=Decimal("0.01"))
    allowance.undraw(hold, Decimal("0.01"))
    assert 0 < hold.day_ends - budgets._clock() <= 86400, "the database said when its UTC day ends"
    hold.day_ends = budgets._clock()  # that moment has come: the day's usage rows are done
    assert allowance.draw(call=draft_call(run, 1), amount=Decimal("0.01")) is not hold
    assert len(reserves) == 2
    allowance.close()
    assert not BudgetReservation.objects.exists()


def test_a_call_still_in_flight_after_its_worker_lost_the_run_keeps_its_hold(priced, make_budget, wait_for,
                                                                              short_holds):
    budget = make_budget(cap="0.05")
    a, b = leased(run_start(workflow="cost_probe", input={})), leased(run_start(workflow="cost_probe", input={}))
    allowance = Allowance()
    hold = allowance.draw(call=draft_call(a, 0), amount=Decimal("0.01"))  # the call starts, and takes long
    row = BudgetReservation.objects.get(token=hold.token)
    # It expires past the draw window (2 s) by two provider timeouts (1 s each) and a lease (2 s):
    # a call drawn at the window's last moment still settles on it.
    assert row.expires_at - row.created_at == timedelta(seconds=2 + 2 * 1 + 2)
    run_cancel(run=a, reason="not needed")
    # Past the draw window (2 s): a's worker draws no more on the hold, but its call still runs.
    wait_for(lambda: not hold.can_cover(draft_call(a, 1), Decimal("0.000001")), timeout=10,
             what="a's draw window to close")
    assert budgets_release_expired() == 0, "the hold outlives the longest call"
    with pytest.raises(BudgetExceeded):
        Allowance().draw(call=draft_call(b, 0), amount=Decimal("0.04"))  # a's hold still counts
    budget_settle(sum_node_spend=False, hold=hold, call=draft_call(a, 0), drawn=Decimal("0.01"), response=REPLY, cost=Decimal("0.009"),
                  latency_ms=4000.0)
    wait_for(lambda: budgets_release_expired() == 1, timeout=20, what="a's hold to expire")
    usage = BudgetUsage.objects.get(budget=budget)
    assert (usage.spent, usage.reserved) == (Decimal("0.009"), Decimal(0))
