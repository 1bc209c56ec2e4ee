"""Claims: "I am looking at this one" — so two reviewers do not work the same item unknowingly.

A claim lasts GATEHOUSE_CLAIM_SECONDS from the moment it was taken; after that anyone may claim
the item again without ceremony. Taking over a live claim is explicit and written to the ledger.

`item_claim` in order:
  1. Guarded UPDATE: pending, still for the group the caller read it in (and checked the actor may
     decide for), and (unclaimed, mine, or lapsed) → claimed by the actor, now.
  2. Zero rows: reload. Not pending → "already decided (…) by X at T". Escalated to a group the actor
     may not decide for → refused as a decision is (review.services.decision_forbidden). Held by
     someone else → refuse with "claimed by X", unless this is an explicit takeover.
  3. Takeover: lock the run, then the item (the order review_decide uses), check the actor may still
     decide it, UPDATE guarded by the holder we saw, append a `claim_taken_over` ledger entry, save
     the run's ledger head.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.services import ledger_append
from orchestrator.models import Run
from orchestrator.roles import person_name
from review.models import ItemStatus, ReviewItem
from review.services import AlreadyDecided, DecisionError, already_decided, decision_forbidden


class ClaimHeld(DecisionError):
    """Someone else holds a live claim; the message names them and says how to proceed."""


def claim_lapse() -> timedelta:
    return timedelta(seconds=settings.GATEHOUSE_CLAIM_SECONDS)


def claim_expires_at(item: ReviewItem) -> datetime | None:
    return item.claimed_at + claim_lapse() if item.claimed_by_id and item.claimed_at else None


def claim_is_live(item: ReviewItem, *, now: datetime | None = None) -> bool:
    until = claim_expires_at(item)
    return until is not None and until > (now or timezone.now())


def claim_held_by_other(item: ReviewItem, actor: Any, *, now: datetime | None = None) -> ClaimHeld | None:
    """The refusal to raise if someone other than `actor` holds a live claim, else None."""
    if not claim_is_live(item, now=now) or item.claimed_by_id == actor.pk:
        return None
    holder = person_name(item.claimed_by) if item.claimed_by else f"user {item.claimed_by_id}"
    until = claim_expires_at(item)
    return ClaimHeld(
        f"claimed by {holder} until {until:%H:%M:%S} UTC: wait for the claim to lapse, or take it over "
        "explicitly (the takeover is recorded)."
    )


def item_claim(*, item: ReviewItem, actor: Any, takeover: bool = False) -> ReviewItem:
    now = timezone.now()
    free = Q(claimed_by__isnull=True) | Q(claimed_by=actor) | Q(claimed_at__lt=now - claim_lapse())
    # The group guard: an escalation clears the claim, so without it a claim that waited for one would
    # find the item free and take it in its new group's inbox.
    taken = ReviewItem.objects.filter(free, pk=item.pk, status=ItemStatus.PENDING,
                                      reviewer_group=item.reviewer_group).update(claimed_by=actor, claimed_at=now)
    if taken == 1:
        return ReviewItem.objects.select_related("claimed_by").get(pk=item.pk)
    current = ReviewItem.objects.select_related("claimed_by", "decided_by").get(pk=item.pk)
    if current.status != ItemStatus.PENDING:
        raise already_decided(current)
    if (forbidden := decision_forbidden(actor, current)) is not None:
        raise forbidden
    held = claim_held_by_other(current, actor, now=now)
    if held is None:  # the claim lapsed or was released between our UPDATE and this read
        return item_claim(item=current, actor=actor, takeover=takeover)
    if not takeover:
        raise held
    return _take_over(item=current, actor=actor)


@transaction.atomic
def _take_over(*, item: ReviewItem, actor: Any) -> ReviewItem:
    run = Run.objects.select_for_update().get(pk=item.run_id)
    locked = ReviewItem.objects.select_for_update(of=("self",)).select_related(
        "claimed_by", "decided_by").get(pk=item.pk)
    if locked.status != ItemStatus.PENDING:
        raise already_decided(locked)
    if (forbidden := decision_forbidden(actor, locked)) is not None:
        raise forbidden
    previous = locked.claimed_by
    moved = ReviewItem.objects.filter(pk=item.pk, status=ItemStatus.PENDING,
                                      claimed_by=previous).update(claimed_by=actor, claimed_at=timezone.now())
    if moved != 1:
        raise ClaimHeld("the claim changed while you took it over; reload the item and try again.")
    ledger_append(run=run, kind="claim_taken_over", step=run.step, actor=actor.username, payload={
        "item": item.pk, "from": previous.username if previous else "", "to": actor.username,
    })
    run.save(update_fields=["ledger_len", "ledger_head"])
    return ReviewItem.objects.select_related("claimed_by").get(pk=item.pk)


def item_release(*, item: ReviewItem, actor: Any) -> ReviewItem:
    """Give a claim back. Only its holder can; releasing nothing is not an error."""
    released = ReviewItem.objects.filter(pk=item.pk, status=ItemStatus.PENDING, claimed_by=actor).update(
        claimed_by=None, claimed_at=None)
    current = ReviewItem.objects.select_related("claimed_by", "decided_by").get(pk=item.pk)
    if not released and current.status != ItemStatus.PENDING:
        raise already_decided(current)
    return current


__all__ = ["AlreadyDecided", "ClaimHeld", "claim_expires_at", "claim_is_live", "claim_lapse",
           "item_claim", "item_release"]
