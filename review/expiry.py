"""Deadlines: a pass of the reconciler (orchestrator.reconciler.EXTRA_PASSES) that acts on items
whose `due_at` has passed, following the gate's policy.

  - on_expiry="reject": the system rejects through review_decide(expired=True) — the same locked,
    guarded path as a person's decision — so the item ends "expired", the run follows its reject
    route, and the proposed action never executes.
  - on_expiry="escalate": the item moves to the `escalate_to` group (guarded UPDATE, ledger entry
    `review_escalated`), loses its deadline and claim, and is notified again to the new group.

Until the pass reaches an overdue item, review_decide already refuses people's decisions on it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from audit.services import ledger_append
from orchestrator.models import Run
from orchestrator.state import loads
from review.models import ItemStatus, ReviewItem
from review.services import DecisionError, DecisionInput, review_decide

log = logging.getLogger("gatehouse.review")

SYSTEM_USERNAME = "gatehouse-system"


def system_user() -> Any:
    """The actor of decisions nobody made by hand (deadlines). It cannot log in."""
    user, created = get_user_model().objects.get_or_create(
        username=SYSTEM_USERNAME, defaults={"is_active": False, "first_name": "Gatehouse", "last_name": "deadline"})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def items_expire(*, now: datetime | None = None, limit: int = 100) -> int:
    """Apply the expiry policy to overdue pending items; returns how many were handled."""
    now = now or timezone.now()
    handled = 0
    # Every item read leaves the overdue set (decided, escalated, or cancelled with its run), so
    # the next pass reads the next ones and no item can hold up those behind it.
    overdue = ReviewItem.objects.filter(status=ItemStatus.PENDING, due_at__lt=now).order_by("due_at", "pk")
    for item in overdue[:limit]:
        handled += _expire(item)
    return handled


def _expire(item: ReviewItem) -> bool:
    request = loads(item.request) or {}
    try:
        if request.get("on_expiry") == "escalate":
            group = request.get("escalate_to") or "admin"
            # Compliance only reads: an item stored before gates were refused that group goes to admins.
            item_escalate(item=item, group="admin" if group == "compliance" else group)
        else:
            review_decide(item=item, actor=system_user(), expired=True, decision=DecisionInput(
                decision="reject", reason=f"Expired: nobody decided by {item.due_at:%Y-%m-%d %H:%M} UTC."))
        return True
    except DecisionError as exc:
        # Already decided in the meantime (fine), or the run ended: the item can never execute.
        if _cancel_if_run_ended(item):
            return True
        # Nobody can decide it (its workflow changed incompatibly under the run, or was retired):
        # admins get it, without a deadline, and can cancel the run; left overdue, it would be read
        # first by every pass. Already decided meanwhile: the guarded move changes nothing.
        try:
            item_escalate(item=item, group="admin")
        except DecisionError:
            return False
        log.warning("expiry: item %s cannot be decided (%s); escalated to admin", item.pk, exc)
        return True


def _cancel_if_run_ended(item: ReviewItem) -> bool:
    run = Run.objects.only("status").get(pk=item.run_id)
    if run.is_terminal:
        return ReviewItem.objects.filter(pk=item.pk, status=ItemStatus.PENDING).update(
            status=ItemStatus.CANCELLED) == 1
    return False


@transaction.atomic
def item_escalate(*, item: ReviewItem, group: str) -> ReviewItem:
    run = Run.objects.select_for_update().get(pk=item.run_id)
    current = ReviewItem.objects.select_for_update(of=("self",)).get(pk=item.pk)
    now = timezone.now()
    moved = ReviewItem.objects.filter(pk=item.pk, status=ItemStatus.PENDING, due_at__lt=now).update(
        reviewer_group=group, escalated_from=current.reviewer_group, escalated_at=now, due_at=None,
        claimed_by=None, claimed_at=None, notified_at=None,
    )
    if moved != 1:
        raise DecisionError(f"item {item.pk} is no longer pending and overdue; it was not escalated.")
    ledger_append(run=run, kind="review_escalated", step=run.step, actor=SYSTEM_USERNAME, payload={
        "item": item.pk, "from": current.reviewer_group, "to": group,
        "due_at": current.due_at.isoformat() if current.due_at else None,
    })
    run.save(update_fields=["ledger_len", "ledger_head"])
    return ReviewItem.objects.get(pk=item.pk)
