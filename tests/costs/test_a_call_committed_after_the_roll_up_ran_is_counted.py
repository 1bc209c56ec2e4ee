"""A call's spend row is written at its statement's time but seen only once its transaction commits:
a call settled just before midnight in a transaction that commits after the roll-up job ran must not
be left out of its day's sums. The roll-up sums a day only once every transaction still open began
after the day ended (orchestrator.spend_rollup); the day waits for the open one.

The job "after midnight" is the roll-up told it is tomorrow (`now`): the open transaction it must
wait for is real — the settlement of a real call, held open on a connection of its own."""

from __future__ import annotations

from datetime import timedelta

from audit.date_range import day_start
from orchestrator.budgets import budget_settle
from orchestrator.models import SpendDaily, SpendRunDaily
from orchestrator.services import run_start
from orchestrator.spend_rollup import MARGIN, spend_rollup, spend_rollup_mark
from tests.costs.calls import COST, REPLY, reserved_call
from tests.costs.spend_rows import TODAY, days_ago, spend_row
from tests.interleave import held_open

TOMORROW = TODAY + timedelta(days=1)
AFTER_MIDNIGHT = day_start(TOMORROW) + MARGIN + timedelta(minutes=1)


def test_a_day_with_a_settlement_still_open_is_rolled_up_only_once_it_commits(priced):
    run = run_start(workflow="cost_probe", input={})
    spend_row(run, day=days_ago(2), cost="0.50")  # committed long ago
    hold, journal = reserved_call(run)

    with held_open(lambda: budget_settle(sum_node_spend=False, hold=hold, response=REPLY, cost=COST, latency_ms=5.0,
                                         journal=journal)):
        spend_rollup(now=AFTER_MIDNIGHT)
        assert spend_rollup_mark() == TODAY, "the days before the open transaction began are rolled up, today is not"
        assert list(SpendDaily.objects.values_list("day", flat=True)) == [days_ago(2)]

    # Committed: no transaction older than today's end is open any more.
    spend_rollup(now=AFTER_MIDNIGHT)

    assert spend_rollup_mark() == TOMORROW
    today = SpendDaily.objects.get(day=TODAY)
    assert (today.calls, today.cost) == (1, COST), "the call committed after the first roll-up is in its day's sums"
    assert SpendRunDaily.objects.get(day=TODAY).cost == COST
