"""A mail server that accepts connections and never answers holds up neither a worker nor the reconciler.

Mail waits at most GATEHOUSE_EMAIL_TIMEOUT_SECONDS; a worker gives its budget hold back before it
mails reviewers about the run it suspended; a notification pass stops mailing at the first server
it cannot reach and leaves the e-mails it did not send for the next pass; and a reconciler hook that
fails does not keep the hooks after it from running.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orchestrator import reconciler
from orchestrator.models import Budget, BudgetReservation, BudgetUsage, Delivery, Run
from orchestrator.services import run_start
from review.models import ReviewItem
from tests.fakes.mail import SilentSMTPServer


@pytest.fixture
def silent_smtp():
    with SilentSMTPServer() as server:
        yield server


@pytest.fixture
def smtp_env(silent_smtp) -> dict[str, str]:
    """Child processes mail over SMTP to the silent server, giving up after a second."""
    return {"DJANGO_SETTINGS_MODULE": "tests.fakes.smtp_settings", "GATEHOUSE_TEST_SMTP_PORT": str(silent_smtp.port),
            "GATEHOUSE_EMAIL_TIMEOUT_SECONDS": "1"}


def test_a_worker_suspending_a_run_gives_back_its_hold_and_finishes_its_job(
        start_worker, wait_for, make_user, silent_smtp, smtp_env):
    make_user("rita", "reviewer")  # someone the new item is mailed to
    budget = Budget.objects.create(name="Everything", scope="global", period="total", cap=Decimal("100"))
    run = run_start(workflow="email_approval", input={"to": "cfo@example.com", "topic": "Q3 numbers"})
    worker = start_worker(burst=True, env=smtp_env)

    # The run is suspended at its gate and the worker is waiting for the mail server's greeting.
    wait_for(lambda: silent_smtp.connections, what="the worker to connect to the mail server")
    assert BudgetUsage.objects.get(budget=budget).reserved == 0, "the hold is given back before mailing"
    assert not BudgetReservation.objects.exists()

    wait_for(lambda: worker.popen.poll() is not None, timeout=60, what="the worker's job to return")
    assert worker.popen.returncode == 0, worker.output()
    assert Run.objects.get(pk=run.pk).status == "suspended"
    item = ReviewItem.objects.get(run=run)
    email = Delivery.objects.get(source="review", ref=item.pk, channel="email")
    assert (item.status, email.state, email.attempts) == ("pending", "pending", 0), "not mailed: left for the next pass"


def test_a_reconciler_pass_returns_and_requeues_an_expired_lease(manage, worker_env, email_item, make_user,
                                                                silent_smtp, smtp_env):
    make_user("rita", "reviewer")
    # Two items nobody was told about yet (as if their workers died right after committing them).
    items = [email_item(), email_item(topic="Q4 numbers")]
    ReviewItem.objects.filter(pk__in=[i.pk for i in items]).update(notified_at=None)
    Delivery.objects.filter(source="review").delete()
    # A run whose worker died: its lease has lapsed.
    stranded = run_start(workflow="email_approval", input={"to": "ops@example.com", "topic": "outage"})
    Run.objects.filter(pk=stranded.pk).update(status="running", lease_owner="gone",
                                              lease_expires_at=timezone.now() - timedelta(minutes=1))
    worker_env.update(smtp_env)

    out = manage("reconcile", timeout=60).stdout

    assert "reconcile: 1 expired lease" in out
    assert Run.objects.get(pk=stranded.pk).status == "queued"
    assert len(silent_smtp.connections) == 1, "the pass stops mailing at the first server it cannot reach"
    emails = Delivery.objects.filter(source="review", ref__in=[i.pk for i in items], channel="email")
    assert sorted(emails.values_list("state", "attempts")) == [("pending", 0), ("pending", 0)], \
        "neither item was mailed, so neither e-mail counts as tried: the next pass tries both"


def test_a_failing_reconciler_hook_does_not_stop_the_hooks_after_it(db, monkeypatch, caplog):
    ran = []

    def broken() -> int:
        raise RuntimeError("statement timeout")

    def after() -> int:
        ran.append("after")
        return 1

    monkeypatch.setattr(reconciler, "EXTRA_PASSES", [broken, after])
    with caplog.at_level(logging.ERROR, logger="gatehouse.reconciler"):
        report = reconciler.runs_reconcile()

    assert ran == ["after"] and report.extra == 1
    assert any("broken" in r.getMessage() and r.exc_info for r in caplog.records), "the failure is logged by name"
