"""`runs resume` takes a reason with --reject, and only there: --reject without --reason is a usage
error naming the flag to add (it used to reach the decision service, whose refusal named no flag), and
a --reason beside --approve, --edit or --respond is refused instead of dropped without a word."""

from __future__ import annotations

import pytest

from orchestrator.models import Run
from orchestrator.services import run_start


@pytest.fixture
def queued_run(worker_env):
    return run_start(workflow="email_approval", input={"to": "a@example.com", "topic": "Q3"})


def test_a_reject_without_a_reason_names_the_flag(manage, queued_run):
    result = manage("runs", "resume", queued_run.thread_id, "--reject", "--actor", "reviewer", check=False)
    assert result.returncode == 2
    assert result.stderr.strip().endswith(
        "manage.py runs resume: error: --reject needs --reason TEXT: the reason is recorded and reaches the workflow")


@pytest.mark.parametrize("decision", [["--approve"], ["--edit", '{"subject": "Hi"}'], ["--respond", "shorter"]])
def test_a_reason_beside_another_decision_is_refused(manage, queued_run, decision):
    result = manage("runs", "resume", queued_run.thread_id, *decision, "--reason", "looks fine", "--actor", "reviewer",
                    check=False)
    assert result.returncode == 2
    assert "error: --reason goes with --reject only (a message for the workflow is --respond TEXT)" in result.stderr
    assert Run.objects.get(pk=queued_run.pk).status == "queued"
