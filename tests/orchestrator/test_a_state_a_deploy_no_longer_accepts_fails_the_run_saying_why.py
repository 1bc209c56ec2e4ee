"""A deploy that tightens a state validator (code, not structure: the run's version still counts as
compatible) can leave a run whose stored state the new code refuses. The run fails saying which field
and what to do, instead of its job crashing on every lease with nothing on the run; a reviewer's
decision on it is refused with the same words, not a server error; once the code accepts the state
again, a retry finishes the run."""

from __future__ import annotations

import pytest

from orchestrator.executor import run_advance
from orchestrator.models import Run, RunStatus
from orchestrator.services import run_retry, run_start
from review.models import ItemStatus, ReviewItem
from review.services import DecisionError, DecisionInput, review_decide
from tests.orchestrator.graphs import CAPPED


@pytest.fixture
def tightened_after_the_gate(db, test_graphs):
    """A `tightened` run waiting at its gate with n = 5, then a deploy capping n at 3."""
    run = run_start(workflow="tightened")
    assert run_advance(run.pk, worker="test") == "suspended"
    CAPPED["at"] = 3
    yield Run.objects.get(pk=run.pk)
    CAPPED["at"] = None


def test_a_decision_on_it_is_refused_naming_the_field_and_nothing_is_decided(tightened_after_the_gate, make_user):
    item = ReviewItem.objects.get(run=tightened_after_the_gate)
    with pytest.raises(DecisionError) as refused:
        review_decide(item=item, actor=make_user("rita", "reviewer"), decision=DecisionInput("approve"))
    assert "n: must be at most 3" in str(refused.value)
    assert "an engineer" in str(refused.value)
    item.refresh_from_db()
    assert item.status == ItemStatus.PENDING


def test_the_worker_fails_the_run_naming_the_field_and_a_retry_finishes_it_once_the_code_accepts_it(
        tightened_after_the_gate, make_user):
    run = tightened_after_the_gate
    # The decision went in before the deploy; the worker that resumes the run runs the new code.
    CAPPED["at"] = None
    review_decide(item=ReviewItem.objects.get(run=run), actor=make_user("rita", "reviewer"),
                  decision=DecisionInput("approve"))
    CAPPED["at"] = 3

    assert run_advance(run.pk, worker="test") == "failed"
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "no longer passes" in run.error["message"] and "n: must be at most 3" in run.error["message"]
    assert "retry" in run.error["message"]

    CAPPED["at"] = None
    run_retry(run=run)
    assert run_advance(run.pk, worker="test") == "completed"
