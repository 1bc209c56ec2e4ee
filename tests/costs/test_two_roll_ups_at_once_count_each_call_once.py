"""The roll-up runs in every reconciler, and several may run at once: each day is summed by one of
them. Each moves the mark past the day it sums by a guarded UPDATE in the transaction that inserts
the sums; the other waits for that row, finds the mark moved, and sums nothing of that day."""

from __future__ import annotations

from django.db.models import Sum

from orchestrator.models import SpendDaily, SpendEvent, SpendRunDaily
from orchestrator.services import run_start
from orchestrator.spend_rollup import spend_rollup, spend_rollup_lock, spend_rollup_mark
from tests.costs.spend_rows import days_ago, spend_row
from tests.interleave import held_open, in_a_thread, sessions_waiting_on_a_lock


def test_two_roll_ups_started_together_sum_each_day_once(transactional_db, wait_for):
    run = run_start(workflow="cost_probe", input={})
    for ago in (4, 3, 2):  # complete days (they ended before any transaction now open began)
        for _ in range(ago):
            spend_row(run, day=days_ago(ago), cost="0.10")

    # Both read the same mark and reach its guarded update while the row is held: they meet there.
    with held_open(spend_rollup_lock):
        jobs = [in_a_thread(spend_rollup) for _ in range(2)]
        wait_for(lambda: sessions_waiting_on_a_lock() >= 2, what="both roll-ups to wait at the mark")
    rolled = [job.result(timeout=30) for job in jobs]

    assert sum(rolled) == 3, f"three days, each rolled up by one of the two jobs ({rolled})"
    assert spend_rollup_mark() >= days_ago(1)
    assert list(SpendDaily.objects.order_by("day").values_list("day", "calls")) == [
        (days_ago(4), 4), (days_ago(3), 3), (days_ago(2), 2)]
    by_run = SpendRunDaily.objects.aggregate(calls=Sum("calls"), cost=Sum("cost"))
    assert by_run == {"calls": SpendEvent.objects.count(), "cost": SpendEvent.objects.aggregate(c=Sum("cost"))["c"]}
