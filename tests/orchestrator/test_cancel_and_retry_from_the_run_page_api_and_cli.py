"""An engineer who finds a failed run on its page retries it there, and cancels a run that should
not go on, without the CLI: the page, the API and `runs cancel/retry` do the same thing, record who
did it in the run's ledger, refuse what cannot be done (a run already finished, one not failed)
with a message saying so and nothing changed, and are for engineers and admins only."""

from __future__ import annotations

import html
import json

import pytest

from audit.models import LedgerEntry
from orchestrator.executor import run_advance
from orchestrator.models import Run, RunStatus
from orchestrator.services import run_start
from review.models import ItemStatus, ReviewItem


@pytest.fixture
def failed_run(db) -> Run:
    run = run_start(workflow="document_pipeline", input={"pages": 3, "fail_at": "summarize", "fail_times": 9})
    assert run_advance(run.pk, worker="test") == "failed"
    return Run.objects.get(pk=run.pk)


def _ledger(run: Run, kind: str) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(chain=run.thread_id, kind=kind))


def test_a_failed_run_is_retried_from_its_page(failed_run, engineer_user, client_for):
    client = client_for(engineer_user)
    page = client.get(f"/runs/{failed_run.thread_id}/").content.decode()
    assert f"Retry from step {failed_run.step}" in page and "Cancel run" not in page

    answer = client.post(f"/runs/{failed_run.thread_id}/retry/", follow=True)

    assert answer.redirect_chain[-1][0] == f"/runs/{failed_run.thread_id}/"
    assert f"queued again: summarize runs again from step {failed_run.step}" in html.unescape(answer.content.decode())
    run = Run.objects.get(pk=failed_run.pk)
    assert run.status == RunStatus.QUEUED and run.error is None
    assert [e.actor for e in _ledger(run, "run_retried")] == ["engineer"]

    again = client.post(f"/runs/{failed_run.thread_id}/retry/", follow=True).content.decode()
    assert "only failed runs can be retried" in again  # a double submit: said, nothing changed
    assert len(_ledger(run, "run_retried")) == 1


def test_a_waiting_is_cancelled_from_its_page_with_a_reason(waiting, engineer_user, client_for):
    client = client_for(engineer_user)
    assert "Cancel this run" in client.get(f"/runs/{waiting.thread_id}/").content.decode()

    answer = client.post(f"/runs/{waiting.thread_id}/cancel/", {"reason": "wrong customer"}, follow=True)

    assert f"Run {waiting.thread_id} cancelled at step" in answer.content.decode()
    run = Run.objects.get(pk=waiting.pk)
    assert run.status == RunStatus.CANCELLED
    item = ReviewItem.objects.get(run=run)
    assert item.status == ItemStatus.CANCELLED and item.decided_by == engineer_user  # named on the item page
    (entry,) = _ledger(run, "run_cancelled")
    assert entry.actor == "engineer" and json.loads(entry.payload)["reason"] and "wrong customer" not in entry.payload
    assert "Cancel this run" not in answer.content.decode()  # nothing left to cancel

    again = client.post(f"/runs/{waiting.thread_id}/cancel/", follow=True).content.decode()
    assert "is already cancelled; nothing to cancel" in again


def test_a_reason_over_the_limit_cancels_nothing(waiting, engineer_user, client_for):
    answer = client_for(engineer_user).post(f"/runs/{waiting.thread_id}/cancel/", {"reason": "x" * 2001},
                                            follow=True)
    assert ("The reason is 2,001 characters, over the limit of 2,000: shorten it and cancel again. Nothing was "
            "cancelled.") in answer.content.decode()
    assert Run.objects.get(pk=waiting.pk).status == RunStatus.SUSPENDED


def test_a_reason_of_exactly_the_limit_cancels(waiting, engineer_user, client_for):
    client_for(engineer_user).post(f"/runs/{waiting.thread_id}/cancel/", {"reason": "x" * 2000}, follow=True)
    assert Run.objects.get(pk=waiting.pk).status == RunStatus.CANCELLED


def test_other_roles_may_not_and_a_get_changes_nothing(waiting, reviewer_user, compliance_user,
                                                       engineer_user, client_for, api):
    for user in (reviewer_user, compliance_user):
        assert client_for(user).post(f"/runs/{waiting.thread_id}/cancel/").status_code == 403
        assert api(user).post(f"/api/runs/{waiting.thread_id}/cancel", "{}",
                               content_type="application/json").status_code == 403
    assert client_for(engineer_user).get(f"/runs/{waiting.thread_id}/cancel/").status_code == 405
    assert Run.objects.get(pk=waiting.pk).status == RunStatus.SUSPENDED


def test_the_api_cancels_and_retries_and_refuses_with_409(waiting, failed_run, engineer_user, admin_user, api):
    engineer = api(engineer_user)

    cancelled = engineer.post(f"/api/runs/{waiting.thread_id}/cancel", {"reason": "not needed"},
                              content_type="application/json")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    twice = engineer.post(f"/api/runs/{waiting.thread_id}/cancel", {}, content_type="application/json")
    assert twice.status_code == 409 and "nothing to cancel" in twice.json()["detail"]
    too_long = engineer.post(f"/api/runs/{failed_run.thread_id}/cancel", {"reason": "x" * 2001},
                             content_type="application/json")
    assert too_long.status_code == 422 and Run.objects.get(pk=failed_run.pk).status == RunStatus.FAILED

    not_failed = engineer.post(f"/api/runs/{waiting.thread_id}/retry", {}, content_type="application/json")
    assert not_failed.status_code == 409 and "only failed runs can be retried" in not_failed.json()["detail"]
    retried = api(admin_user).post(f"/api/runs/{failed_run.thread_id}/retry", {}, content_type="application/json")
    assert retried.status_code == 200 and retried.json()["status"] == "queued"
    assert [e.actor for e in _ledger(failed_run, "run_retried")] == ["admin"]


def test_the_cli_names_who_cancels_and_retries(waiting, failed_run, engineer_user, reviewer_user, manage):
    missing = manage("runs", "cancel", waiting.thread_id, check=False)
    assert missing.returncode == 2 and "--actor" in missing.stderr
    refused = manage("runs", "cancel", waiting.thread_id, "--actor", "reviewer", check=False)
    assert refused.returncode == 1 and "cancelling a run needs the engineer or admin role" in refused.stderr
    assert Run.objects.get(pk=waiting.pk).status == RunStatus.SUSPENDED

    manage("runs", "cancel", waiting.thread_id, "--actor", "engineer", "--reason", "duplicate")
    manage("runs", "retry", failed_run.thread_id, "--actor", "engineer")

    assert [e.actor for e in _ledger(waiting, "run_cancelled")] == ["engineer"]
    assert [e.actor for e in _ledger(failed_run, "run_retried")] == ["engineer"]
