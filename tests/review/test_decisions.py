"""Each decision type through review_decide: what is recorded, what reaches the workflow, where the run goes."""

from __future__ import annotations

import pytest

from orchestrator.executor import run_advance
from orchestrator.history import state_at
from orchestrator.models import Checkpoint, OutboxMessage
from review.models import ReviewDecision
from review.services import AlreadyDecided, DecisionError, DecisionInput, review_decide


def test_an_approval_records_who_and_resumes_the_run_to_completion(email_item, reviewer_user):
    item = email_item()

    decided = review_decide(item=item, actor=reviewer_user, decision=DecisionInput("approve"))

    assert (decided.status, decided.decision, decided.decided_by) == ("decided", "approve", reviewer_user)
    assert run_advance(item.run_id, worker="test") == "completed"
    assert OutboxMessage.objects.get().to == "cfo@example.com"


def test_a_rejection_needs_a_reason_and_the_reason_reaches_the_workflow_state(email_item, reviewer_user):
    item = email_item()

    with pytest.raises(DecisionError) as refused:
        review_decide(item=item, actor=reviewer_user, decision=DecisionInput("reject", reason="  "))
    assert refused.value.field_errors == {"reason": "Say why you reject this."}

    review_decide(item=item, actor=reviewer_user, decision=DecisionInput("reject", reason="wrong recipient"))
    item.run.refresh_from_db()
    assert item.run.status == "rejected"
    state = state_at(item.run_id, item.run.step)
    assert state["decision"]["reason"] == "wrong recipient"
    assert state["decision"]["actor"] == "reviewer"
    assert not OutboxMessage.objects.exists()


def test_an_edit_is_validated_by_the_schema_and_keeps_only_changed_typed_fields(payment_item, reviewer_user):
    item = payment_item(amount=1200)

    with pytest.raises(DecisionError) as refused:
        review_decide(item=item, actor=reviewer_user, decision=DecisionInput(
            "edit", edits={"payee": "not-an-email"}))
    assert "payee" in refused.value.field_errors
    assert item.__class__.objects.get(pk=item.pk).status == "pending"

    decided = review_decide(item=item, actor=reviewer_user, decision=DecisionInput(
        "edit", edits={"payee": "ap@supplier.example", "amount": 900, "urgent": True}))

    # The unchanged payee is dropped.
    assert decided.edits == {"amount": 900, "urgent": True}
    assert ReviewDecision.objects.get(item=item).edits == {"amount": 900, "urgent": True}
    item.run.refresh_from_db()
    state = state_at(item.run_id, item.run.step)
    assert (state["amount"], state["urgent"]) == (900, True)


def test_an_edit_that_changes_nothing_is_refused(payment_item, reviewer_user):
    item = payment_item()

    with pytest.raises(DecisionError, match="you changed nothing"):
        review_decide(item=item, actor=reviewer_user, decision=DecisionInput("edit", edits={"amount": 1200}))


def test_a_response_sends_the_text_back_to_the_drafting_node(email_item, reviewer_user):
    item = email_item()

    review_decide(item=item, actor=reviewer_user, decision=DecisionInput("respond", response="Mention the date"))

    item.run.refresh_from_db()
    assert (item.run.status, item.run.next_node) == ("queued", "draft")
    assert run_advance(item.run_id, worker="test") == "suspended"  # redrafted, back at the gate
    cp = Checkpoint.objects.get(run=item.run, source="decision")
    assert cp.actor == reviewer_user


def test_a_second_decision_says_who_decided_and_when_and_changes_nothing(email_item, reviewer_user,
                                                                        reviewer2_user):
    item = email_item()
    review_decide(item=item, actor=reviewer_user, decision=DecisionInput("approve"))
    step = item.run.__class__.objects.get(pk=item.run_id).step

    with pytest.raises(AlreadyDecided) as second:
        review_decide(item=item, actor=reviewer2_user, decision=DecisionInput("reject", reason="no"))

    assert "already decided (approve) by Riley Reviewer at " in str(second.value)
    assert item.run.__class__.objects.get(pk=item.run_id).step == step
    assert ReviewDecision.objects.filter(item=item).count() == 1
