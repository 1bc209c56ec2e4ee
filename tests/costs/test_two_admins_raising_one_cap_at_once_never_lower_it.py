"""Two runs stopped by the same budget; two admins each raise its cap and resume their run at the same
moment, one to $10 and one to $8. The second raise waits for the first on the budget's row, and then used
to write the cap it had read the budget with in mind: the "raise" to $8 set the cap *down* from the $10 the
other admin had just given (and wrote back every other field as it had read them). A raise is checked
against the cap as it is once the budget is locked: the second admin is told the cap is already above what
they asked, and nothing of theirs is done."""

from __future__ import annotations

from decimal import Decimal

import pytest

from audit.models import LedgerEntry
from orchestrator.cost_admin import CostAdminError, budget_item_resume
from orchestrator.models import Budget, Run
from orchestrator.services import run_start
from review.models import ReviewItem
from tests.interleave import held_open, in_a_thread, sessions_waiting_on_a_lock


def _stopped_item(advance) -> ReviewItem:
    run = run_start(workflow="cost_probe", input={"calls": 2})
    assert advance(run) == "suspended"
    return ReviewItem.objects.get(run=run, kind="budget_exceeded", status="pending")


def test_a_raise_that_waited_for_a_larger_one_is_refused(priced, advance, make_budget, admin_user, make_user,
                                                         redis_conn, wait_for):
    budget = make_budget("Shared", cap="0")  # a $0 cap stops every run at its first call
    first, second = _stopped_item(advance), _stopped_item(advance)
    other_admin = make_user("ada", "admin")

    with held_open(lambda: budget_item_resume(item=first, cap=Decimal("10"), actor=admin_user)):
        raising = in_a_thread(lambda: budget_item_resume(item=second, cap=Decimal("8"), actor=other_admin))
        wait_for(lambda: sessions_waiting_on_a_lock() > 0,
                 what="the second raise to wait for the first (else the race is not exercised)")

    with pytest.raises(CostAdminError, match=r"above the current \$10\.00"):
        raising.result(timeout=30)
    assert Budget.objects.get(pk=budget.pk).cap == Decimal("10")
    changes = [e.payload for e in LedgerEntry.objects.filter(kind="budget_changed")]
    assert len(changes) == 1 and '"to":"10.000000"' in changes[0]
    assert ReviewItem.objects.get(pk=second.pk).status == "pending", "the refused resume decided nothing"
    assert Run.objects.get(pk=second.run_id).status == "suspended"
