"""`runs resume` takes a reason with --reject, and only there: --reject without --reason is a usage
error naming the flag to add (it used to reach the decision service, whose refusal named no flag), and
a --reason beside --approve, --edit or --respond is refused instead of dropped without a word."""

from __future__ import annotations

import pytest

from orchestrator.executor import run_advance
from orchestrator.models import Run
from orchestrator.services import run_start
from review.models import ItemStatus, ReviewItem


@pytest.fixture
def waiting_run(worker_env):
    """A run at its gate, so that a resume the command wrongly let through would decide it."""
    run = run_start(workflow="email_approval", input={"to": "a@example.com", "topic": "Q3"})
    assert run_advance(run.pk, worker="test") == "suspended"
    return run


def test_a_reject_without_a_reason_names_the_flag(manage, waiting_run):
    result = manage("runs", "resume", waiting_run.thread_id, "--reject", "--actor", "reviewer", check=False)
    assert result.returncode == 2
    assert result.stderr.strip().endswith(
        "manage.py runs resume: error: --reject needs --reason TEXT: the reason is recorded and reaches the workflow")
    assert ReviewItem.objects.get(run=waiting_run).status == ItemStatus.PENDING


@pytest.mark.parametrize("decision", [["--approve"], ["--edit", '{"subject": "Hi"}'], ["--respond", "shorter"]])
def test_a_reason_beside_another_decision_is_refused(manage, waiting_run, decision):
    result = manage("runs", "resume", waiting_run.thread_id, *decision, "--reason", "looks fine", "--actor", "reviewer",
                    check=False)
    assert result.returncode == 2
    assert "error: --reason goes with --reject only (a message for the workflow is --respond TEXT)" in result.stderr
    assert Run.objects.get(pk=waiting_run.pk).status == "suspended"
    assert ReviewItem.objects.get(run=waiting_run).status == ItemStatus.PENDING
