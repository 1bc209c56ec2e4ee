"""Erasure rewrites the labels of the spend rows and of the roll-up's sums by run; a roll-up pass
summing the same day at the same moment must not put the old labels back into the sums. Whichever
takes the roll-up's mark first, the other waits for it: a pass that began first commits its sums and
the erasure rewrites them; a pass that began after sums the rewritten spend rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from audit.date_range import day_start
from audit.erasure import ERASED_TEXT, audit_erase
from orchestrator.models import Run, SpendRunDaily
from orchestrator.services import run_start
from orchestrator.spend_rollup import MARGIN, spend_rollup, spend_rollup_mark
from tests.costs.spend_rows import days_ago, spend_row
from tests.interleave import started_while_held

CUSTOMER = "ana@customer.example"
AFTER_TODAY = day_start(datetime.now(UTC).date() + timedelta(days=1)) + MARGIN + timedelta(minutes=1)


def _a_customer_s_finished_run() -> Run:
    run = run_start(workflow="cost_probe", input={}, labels={"customer": CUSTOMER})
    Run.objects.filter(pk=run.pk).update(status="completed")
    spend_row(run, day=days_ago(2))
    return run


def test_an_erasure_started_while_a_roll_up_sums_the_day_rewrites_its_sums(priced, admin_user, wait_for):
    _a_customer_s_finished_run()

    started_while_held(lambda: spend_rollup(now=AFTER_TODAY),
                       lambda: audit_erase(actor=admin_user, label=("customer", CUSTOMER)), wait_for,
                       what="the erasure to wait for the roll-up")

    assert spend_rollup_mark() > days_ago(2)
    assert list(SpendRunDaily.objects.values_list("labels", flat=True)) == [{"customer": ERASED_TEXT}]


def test_a_roll_up_started_while_an_erasure_runs_sums_the_rewritten_rows(priced, admin_user, wait_for):
    _a_customer_s_finished_run()

    started_while_held(lambda: audit_erase(actor=admin_user, label=("customer", CUSTOMER)),
                       lambda: spend_rollup(now=AFTER_TODAY), wait_for,
                       what="the roll-up to wait for the erasure")

    assert spend_rollup_mark() > days_ago(2)
    assert list(SpendRunDaily.objects.values_list("labels", flat=True)) == [{"customer": ERASED_TEXT}]
