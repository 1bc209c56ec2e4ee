"""Bulk approve/reject: capped, each item through the same checks, skipped ones named with why."""

from __future__ import annotations

import pytest

from review.bulk import BULK_CAP, items_decide_bulk
from review.models import ReviewItem
from review.services import DecisionError, DecisionInput, review_decide


def test_bulk_approval_decides_the_pending_ones_and_names_the_skipped(email_item, reviewer_user, reviewer2_user):
    first, second, third = email_item(), email_item(topic="rollout"), email_item(topic="budget")
    review_decide(item=second, actor=reviewer2_user, decision=DecisionInput("reject", reason="dup"))

    result = items_decide_bulk(item_ids=[first.pk, second.pk, third.pk, 999999], actor=reviewer_user,
                               decision="approve")

    assert sorted(i.pk for i in result.decided) == [first.pk, third.pk]
    skipped = dict(result.skipped)
    assert "already decided (reject) by Rowan Reviewer" in skipped[second.pk]
    assert skipped[999999] == "no such item"
    assert ReviewItem.objects.get(pk=second.pk).decision == "reject"


def test_bulk_rejection_needs_a_reason(email_item, reviewer_user):
    item = email_item()

    with pytest.raises(DecisionError, match="needs a reason"):
        items_decide_bulk(item_ids=[item.pk], actor=reviewer_user, decision="reject")
    assert ReviewItem.objects.get(pk=item.pk).status == "pending"


def test_bulk_is_capped(reviewer_user):
    with pytest.raises(DecisionError, match=f"at most {BULK_CAP}"):
        items_decide_bulk(item_ids=list(range(1, BULK_CAP + 2)), actor=reviewer_user, decision="approve")


def test_bulk_skips_items_of_another_group(payment_item, reviewer_user):
    item = payment_item(group="legal")

    result = items_decide_bulk(item_ids=[item.pk], actor=reviewer_user, decision="approve")

    # As an id no item has: naming the group would tell a reviewer probing ids which items other groups have.
    assert result.decided == [] and result.skipped[0][1] == "no such item"
