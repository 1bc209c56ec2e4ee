"""Deadlines: overdue items are refused to people, then auto-rejected or escalated by the reconciler pass."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from audit.models import LedgerEntry
from orchestrator.executor import run_advance
from orchestrator.history import state_at
from orchestrator.reconciler import runs_reconcile
from review.expiry import items_expire
from review.models import ReviewItem
from review.services import DecisionError, DecisionInput, review_decide


def _make_overdue(item: ReviewItem) -> None:
    ReviewItem.objects.filter(pk=item.pk).update(due_at=timezone.now() - timedelta(seconds=1))


def test_a_gate_deadline_sets_due_at(payment_item):
    item = payment_item(due_in=3600)

    assert timedelta(minutes=59) < item.due_at - item.created_at <= timedelta(hours=1)


def test_nobody_can_approve_an_overdue_item(payment_item, reviewer_user):
    item = payment_item(due_in=3600)
    _make_overdue(item)

    with pytest.raises(DecisionError, match="expired at .* and is being auto-rejected"):
        review_decide(item=item, actor=reviewer_user, decision=DecisionInput("approve"))


def test_the_reconciler_auto_rejects_an_expired_item_and_it_never_executes(payment_item, redis_conn):
    item = payment_item(due_in=3600)
    _make_overdue(item)

    report = runs_reconcile()

    assert report.extra >= 1
    item.refresh_from_db()
    assert (item.status, item.decision, item.decided_by.username) == ("expired", "reject", "gatehouse-system")
    item.run.refresh_from_db()
    assert item.run.status == "rejected"
    state = state_at(item.run_id, item.run.step)
    assert state["paid"] is False
    assert state["decision"]["reason"].startswith("Expired: nobody decided by")


def test_an_expired_item_with_escalation_moves_to_the_other_group_and_is_recorded(payment_item, make_user,
                                                                                 reviewer_user, admin_user):
    make_user("boss", "admin")
    item = payment_item(due_in=3600, on_expiry="escalate", escalate_to="admin")
    ReviewItem.objects.filter(pk=item.pk).update(notified_at=timezone.now())
    _make_overdue(item)
    mail.outbox.clear()

    runs_reconcile()

    item.refresh_from_db()
    assert (item.status, item.reviewer_group, item.escalated_from, item.due_at) == ("pending", "admin", "reviewer",
                                                                                     None)
    entry = LedgerEntry.objects.get(kind="review_escalated")
    assert entry.actor == "gatehouse-system"
    # The new group is told, in the same reconciler pass.
    assert len(mail.outbox) == 1 and "boss@example.com" in mail.outbox[0].bcc
    # A reviewer is no longer in the item's group; the admin decides and the run completes.
    from review.permissions import may_decide

    assert not may_decide(reviewer_user, item)
    review_decide(item=item, actor=admin_user, decision=DecisionInput("approve"))
    assert run_advance(item.run_id, worker="test") == "completed"


def test_an_item_decided_before_the_pass_runs_is_left_alone(payment_item, reviewer_user):
    item = payment_item(due_in=3600)
    review_decide(item=item, actor=reviewer_user, decision=DecisionInput("approve"))
    ReviewItem.objects.filter(pk=item.pk).update(due_at=timezone.now() - timedelta(seconds=1))

    assert items_expire() == 0
    item.refresh_from_db()
    assert (item.status, item.decided_by) == ("decided", reviewer_user)


def test_items_that_cannot_be_decided_go_to_admins_and_do_not_hold_up_the_ones_behind_them(payment_item):
    # Their workflow changed incompatibly under the runs: nobody can decide them, so the pass hands
    # them to admins (who can cancel the runs) and reaches the item behind them.
    from orchestrator.models import Run

    stuck = [payment_item(due_in=3600) for _ in range(4)]
    behind = payment_item(due_in=3600)
    for item in stuck:
        ReviewItem.objects.filter(pk=item.pk).update(due_at=timezone.now() - timedelta(minutes=5))
        Run.objects.filter(pk=item.run_id).update(graph_version="000000000000.000000000000")
    _make_overdue(behind)

    passes = 0
    while ReviewItem.objects.get(pk=behind.pk).status == "pending" and passes < 5:
        items_expire(limit=2)
        passes += 1
    assert ReviewItem.objects.get(pk=behind.pk).status == "expired"
    for item in stuck:
        item.refresh_from_db()
        assert (item.status, item.reviewer_group, item.due_at) == ("pending", "admin", None)
    assert LedgerEntry.objects.filter(kind="review_escalated").count() == len(stuck)
