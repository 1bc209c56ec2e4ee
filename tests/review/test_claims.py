"""Claims: atomic, visible, lapsing after GATEHOUSE_CLAIM_SECONDS, and an explicit takeover is recorded."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection

from audit.models import LedgerEntry
from review.claims import ClaimHeld, item_claim, item_release
from review.models import ReviewItem
from review.services import DecisionInput, review_decide


def test_two_people_claiming_at_once_get_one_claim(email_item, reviewer_user, reviewer2_user):
    item = email_item()
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def claim(user) -> None:
        barrier.wait()
        try:
            outcomes[user.username] = item_claim(item=item, actor=user)
        except ClaimHeld as exc:
            outcomes[user.username] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(u,)) for u in (reviewer_user, reviewer2_user)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    holder = ReviewItem.objects.get(pk=item.pk).claimed_by.get_full_name()
    loser = next(v for v in outcomes.values() if isinstance(v, ClaimHeld))
    assert f"claimed by {holder}" in str(loser)


def test_a_claim_keeps_others_from_deciding_until_it_lapses(email_item, reviewer_user, reviewer2_user, settings):
    settings.GATEHOUSE_CLAIM_SECONDS = 600
    item = email_item()
    item_claim(item=item, actor=reviewer_user)

    with pytest.raises(ClaimHeld, match="claimed by Riley Reviewer until"):
        review_decide(item=item, actor=reviewer2_user, decision=DecisionInput("approve"))

    ReviewItem.objects.filter(pk=item.pk).update(claimed_at=item.created_at - timedelta(seconds=601))
    decided = review_decide(item=item, actor=reviewer2_user, decision=DecisionInput("approve"))
    assert decided.decided_by == reviewer2_user


def test_a_lapsed_claim_can_be_claimed_without_a_takeover(email_item, reviewer_user, reviewer2_user, settings):
    settings.GATEHOUSE_CLAIM_SECONDS = 5
    item = email_item()
    item_claim(item=item, actor=reviewer_user)
    ReviewItem.objects.filter(pk=item.pk).update(claimed_at=item.created_at - timedelta(seconds=10))

    assert item_claim(item=item, actor=reviewer2_user).claimed_by == reviewer2_user
    assert not LedgerEntry.objects.filter(kind="claim_taken_over").exists()


def test_an_explicit_takeover_moves_the_claim_and_is_written_to_the_ledger(email_item, reviewer_user,
                                                                          reviewer2_user):
    item = email_item()
    item_claim(item=item, actor=reviewer_user)

    taken = item_claim(item=item, actor=reviewer2_user, takeover=True)

    assert taken.claimed_by == reviewer2_user
    entry = LedgerEntry.objects.get(kind="claim_taken_over")
    assert entry.actor == "reviewer2"
    assert '"from":"reviewer"' in entry.payload.replace(" ", "")


def test_releasing_a_claim_lets_anyone_claim_it(email_item, reviewer_user, reviewer2_user):
    item = email_item()
    item_claim(item=item, actor=reviewer_user)
    item_release(item=item, actor=reviewer_user)

    assert item_claim(item=item, actor=reviewer2_user).claimed_by == reviewer2_user


def test_claiming_a_decided_item_says_who_decided_it(email_item, reviewer_user, reviewer2_user):
    item = email_item()
    review_decide(item=item, actor=reviewer_user, decision=DecisionInput("approve"))

    with pytest.raises(Exception, match=r"already decided \(approve\) by Riley Reviewer at"):
        item_claim(item=item, actor=reviewer2_user)
