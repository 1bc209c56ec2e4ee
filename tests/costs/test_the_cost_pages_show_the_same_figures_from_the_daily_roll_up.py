"""The costs dashboard and the chargeback read the days before the roll-up's mark from its daily sums
and the days from the mark on from the spend rows (orchestrator.spend_rollup): the figures are the
ones read from the spend rows alone — totals with their unpriced and partial counts, the number of
runs (a run spending on both sides of the mark, or on several days, counts once), spend by day in
every grouping including a label, the costliest runs, and each month's chargeback."""

from __future__ import annotations

from datetime import time, timedelta

from audit.date_range import day_start
from orchestrator.models import Run, SpendDaily, SpendEvent, SpendRunDaily
from orchestrator.reconciler import runs_reconcile
from orchestrator.services import run_start
from orchestrator.spend_rollup import MARGIN, spend_rollup, spend_rollup_mark
from tests.costs.spend_rows import TODAY, days_ago, spend_row, the_figures

LONG_AGO = 9  # the range: from nine days ago to today


def _spend_over_several_days() -> None:
    legal = run_start(workflow="research_agent", input={"question": "q"}, labels={"customer": "acme", "department": "legal"})
    sales = run_start(workflow="research_agent", input={"question": "q"}, labels={"customer": "globex"})
    bare = run_start(workflow="cost_probe", input={})
    # One run spending on many days, on both sides of the mark, through two models and nodes.
    for ago in (8, 6, 5, 4, 3, 2, 1, 0):
        spend_row(legal, day=days_ago(ago), node="search", cost="0.25", tokens=(100 + ago, 40, 30))
        spend_row(legal, day=days_ago(ago), node="answer", cost="0.50", model="demo-large", at=time(23, 59, 59))
    spend_row(sales, day=days_ago(5), node="search", cost="0.10", unpriced=True, at=time(0, 0))
    spend_row(sales, day=days_ago(1), node="search", cost="0.70", partial=True)
    spend_row(bare, day=days_ago(4), cost="0.05", partial=True)
    spend_row(bare, day=days_ago(4), cost="0.05", labels={"customer": "initech"})  # a label the run never had
    spend_row(bare, day=days_ago(0), cost="0.02", model="demo-large", unpriced=True)
    spend_row(bare, day=days_ago(LONG_AGO + 3), cost="9.00")  # outside the range


def test_the_figures_are_the_same_with_the_mark_in_the_middle_of_the_range(db):
    _spend_over_several_days()
    since = days_ago(LONG_AGO)
    from_spend_rows = the_figures("customer", since=since, until=TODAY)

    # The roll-up as it runs on the day three days ago, ten past midnight: the days before are complete.
    assert spend_rollup(now=day_start(days_ago(3)) + MARGIN + timedelta(minutes=1)) > 0
    assert spend_rollup_mark() == days_ago(3), "the mark is in the middle of the range"
    assert SpendDaily.objects.filter(day__gte=since).exists() and SpendRunDaily.objects.filter(day__gte=since).exists()

    assert the_figures("customer", since=since, until=TODAY) == from_spend_rows
    # The department label (which one run lacks) and a range that starts on the mark, and one that ends before it.
    assert the_figures("department", since=since, until=TODAY) == _before(the_figures, "department", since)
    assert the_figures("customer", since=days_ago(3), until=TODAY) == _before(the_figures, "customer", days_ago(3))
    assert the_figures("customer", since=since, until=days_ago(5)) == _before(
        the_figures, "customer", since, until=days_ago(5))


def test_the_figures_are_the_same_with_every_day_rolled_up(db):
    _spend_over_several_days()
    since = days_ago(LONG_AGO)
    from_spend_rows = the_figures("customer", since=since, until=TODAY)

    spend_rollup(now=day_start(TODAY) + timedelta(days=1) + MARGIN + timedelta(minutes=1), days=30)

    assert spend_rollup_mark() == TODAY + timedelta(days=1), "today is rolled up too (its end has passed)"
    assert the_figures("customer", since=since, until=TODAY) == from_spend_rows
    assert sum(SpendDaily.objects.values_list("calls", flat=True)) == SpendEvent.objects.count()


def test_the_reconciler_rolls_up_the_complete_days(db):
    run = run_start(workflow="cost_probe", input={})
    Run.objects.filter(pk=run.pk).update(status="completed")
    spend_row(run, day=days_ago(2))
    spend_row(run, day=TODAY)

    runs_reconcile()

    # Yesterday and before are complete (yesterday only from ten past midnight on); today is not.
    assert spend_rollup_mark() in (days_ago(1), TODAY)
    assert list(SpendDaily.objects.values_list("day", "calls")) == [(days_ago(2), 1)]


def _before(read, label_key, since, until=TODAY):
    """The same figures read from the spend rows alone: with the roll-up's mark taken away."""
    from orchestrator.models import SpendRollup

    mark = spend_rollup_mark()
    SpendRollup.objects.filter(pk=1).update(next_day=None)
    try:
        return read(label_key, since=since, until=until)
    finally:
        SpendRollup.objects.filter(pk=1).update(next_day=mark)
