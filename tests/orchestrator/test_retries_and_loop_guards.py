"""Retries absorb transient failures; loop guards stop a run before it burns budget."""

from __future__ import annotations

import pytest

from audit.models import LedgerEntry
from orchestrator.executor import run_advance
from orchestrator.models import Checkpoint
from orchestrator.services import RunError, run_retry, run_start
from review.models import ReviewItem
from review.services import DecisionInput, review_decide


def test_a_transient_failure_is_retried_and_each_attempt_recorded(db):
    run = run_start(workflow="document_pipeline", input={"pages": 2, "fail_at": "classify", "fail_times": 2})
    assert run_advance(run.pk, worker="test") == "completed"
    assert Checkpoint.objects.get(run=run, node="classify").attempt == 3
    retries = LedgerEntry.objects.filter(chain=run.thread_id, kind="retry")
    assert retries.count() == 2


def test_exhausted_retries_fail_the_run_and_retry_resumes_from_the_last_checkpoint(db):
    run = run_start(workflow="document_pipeline", input={"pages": 2, "fail_at": "classify", "fail_times": 4})
    assert run_advance(run.pk, worker="test") == "failed"
    run.refresh_from_db()
    assert run.error["node"] == "classify" and run.error["attempts"] == 3
    failed_at = run.step
    run_retry(run=run)
    run.refresh_from_db()
    assert run.status == "queued" and run.step == failed_at
    with pytest.raises(RunError, match="only failed runs"):
        run_retry(run=run)
    # The injected fault fails once more (4 in all), then the retried node goes through.
    assert run_advance(run.pk, worker="test") == "completed"


def test_a_repeating_state_suspends_the_run_for_review(db, make_user):
    run = run_start(workflow="research_agent", input={"question": "q", "mode": "stuck"})
    assert run_advance(run.pk, worker="test") == "suspended"
    run.refresh_from_db()
    assert run.suspended_reason == "loop_guard"
    item = ReviewItem.objects.get(run=run)
    assert item.kind == "loop_guard" and "state repeated" in item.summary + item.request
    # A person ends it.
    review_decide(item=item, actor=make_user("eve", "engineer"), decision=DecisionInput("reject", reason="stuck"))
    run.refresh_from_db()
    assert run.status == "rejected"


def test_a_node_visit_cap_suspends_a_long_loop(db):
    run = run_start(workflow="research_agent", input={"question": "q", "max_iterations": 1000})
    assert run_advance(run.pk, worker="test") == "suspended"
    run.refresh_from_db()
    assert run.suspended_reason == "loop_guard"
    assert "visited 25 times" in ReviewItem.objects.get(run=run).request


def test_the_step_cap_suspends_a_run_and_approval_lets_it_continue(db, settings, make_user):
    settings.GATEHOUSE_STEP_CAP = 5
    run = run_start(workflow="document_pipeline", input={"pages": 2})
    assert run_advance(run.pk, worker="test") == "suspended"
    item = ReviewItem.objects.get(run=run)
    assert "step cap of 5" in item.request
    review_decide(item=item, actor=make_user("eve", "engineer"), decision=DecisionInput("approve"))
    assert run_advance(run.pk, worker="test") == "suspended"  # five more steps, then the cap again
    run.refresh_from_db()
    # 5 nodes, the guard's checkpoint, the decision, 5 more nodes, the guard again.
    assert run.step == 13
    nodes = Checkpoint.objects.filter(run=run, source="node").count()
    assert nodes == 10
