"""Four-eyes: N distinct approvers, progress "1 of 2"; the person who started a run may not approve it."""

from __future__ import annotations

import pytest

from orchestrator.executor import run_advance
from review.claims import item_claim
from review.services import DecisionError, DecisionInput, review_decide


def test_two_approvals_are_needed_and_progress_reads_1_of_2(payment_item, reviewer_user, reviewer2_user):
    item = payment_item(approvals=2)

    first = review_decide(item=item, actor=reviewer_user, decision=DecisionInput("approve"))
    assert (first.status, first.progress) == ("pending", "1 of 2")
    first.run.refresh_from_db()
    assert first.run.status == "suspended"

    second = review_decide(item=item, actor=reviewer2_user, decision=DecisionInput("approve"))
    assert (second.status, second.progress) == ("decided", "2 of 2")
    assert run_advance(item.run_id, worker="test") == "completed"


def test_the_same_person_cannot_approve_twice(payment_item, reviewer_user):
    item = payment_item(approvals=2)
    review_decide(item=item, actor=reviewer_user, decision=DecisionInput("approve"))

    with pytest.raises(DecisionError, match="another approver must decide"):
        review_decide(item=item, actor=reviewer_user, decision=DecisionInput("approve"))
    item.refresh_from_db()
    assert item.progress == "1 of 2"


def test_a_first_approval_releases_the_claim_for_the_second_approver(payment_item, reviewer_user, reviewer2_user):
    item = payment_item(approvals=2)
    item_claim(item=item, actor=reviewer_user)
    review_decide(item=item, actor=reviewer_user, decision=DecisionInput("approve"))

    assert item_claim(item=item, actor=reviewer2_user).claimed_by == reviewer2_user


def test_the_person_who_started_the_run_may_not_approve_it(payment_item, make_user):
    starter = make_user("starter", "reviewer", "engineer")
    item = payment_item(actor=starter)

    with pytest.raises(DecisionError, match="you started this run, so you may not approve it"):
        review_decide(item=item, actor=starter, decision=DecisionInput("approve"))
    with pytest.raises(DecisionError, match="you started this run"):
        review_decide(item=item, actor=starter, decision=DecisionInput("edit", edits={"amount": 5}))

    # Stopping your own run is allowed.
    rejected = review_decide(item=item, actor=starter, decision=DecisionInput("reject", reason="typo in amount"))
    assert rejected.decision == "reject"


def test_an_admin_who_started_the_run_may_not_approve_it_either(payment_item, admin_user):
    item = payment_item(actor=admin_user)

    with pytest.raises(DecisionError, match="you started this run"):
        review_decide(item=item, actor=admin_user, decision=DecisionInput("approve"))
