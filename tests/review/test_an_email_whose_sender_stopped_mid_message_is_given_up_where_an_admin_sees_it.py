"""An e-mail whose sender stopped mid-message (its worker was killed while the mail server had the
message but had not answered) does not stay "sending" for ever: once its claim lapsed, the
reconciler's pass marks it failed, says why in the admin's Deliveries list and logs an error. It is
not sent again (it may have arrived). A live sender is left alone until then, and one that was only
slow, not dead, still records the e-mail as sent when the server answers at last."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import connection

from orchestrator.deliveries import deliveries_fail_lapsed
from orchestrator.models import Delivery
from orchestrator.reconciler import runs_reconcile
from orchestrator.services import run_start
from review.notifications import items_notify
from tests.deliveries import claims_lapse, db_now


@pytest.fixture
def smtp_env(smtp_server) -> dict[str, str]:
    """Child processes mail to the test's SMTP server and wait for its answer as long as the test
    does; their claims outlast the test, so only the test (claims_lapse) makes one lapse."""
    return {"DJANGO_SETTINGS_MODULE": "tests.fakes.smtp_settings", "GATEHOUSE_TEST_SMTP_PORT": str(smtp_server.port),
            "GATEHOUSE_EMAIL_TIMEOUT_SECONDS": "600", "GATEHOUSE_WEBHOOK_TIMEOUT_SECONDS": "600"}


def test_an_email_whose_worker_was_killed_mid_message_is_failed_logged_and_not_sent_again(
        start_worker, wait_for, make_user, smtp_server, smtp_env, admin_user, client_for, caplog):
    make_user("rita", "reviewer")
    smtp_server.answer("hold")  # the server has the message and never answers it
    worker = start_worker(env=smtp_env)
    run_start(workflow="email_approval", input={"to": "cfo@example.com", "topic": "Q3 numbers"})
    wait_for(lambda: smtp_server.messages, what="the worker's e-mail to reach the mail server")

    runs_reconcile()
    assert Delivery.objects.get(channel="email").state == "sending", \
        "its sender is still waiting for the server's answer: a pass leaves it alone"

    worker.kill()
    claims_lapse()  # as if its claim's minutes had passed
    with caplog.at_level(logging.ERROR, logger="gatehouse.notify"):
        runs_reconcile()

    email = Delivery.objects.get(channel="email")
    assert email.state == "failed"
    assert email.last_error.startswith("the sender stopped mid-message")
    assert email.last_error.endswith("it may have arrived, so it is not sent again")
    assert any("the sender stopped mid-message" in r.getMessage() for r in caplog.records
               if r.levelno == logging.ERROR and r.name == "gatehouse.notify")
    listing = client_for(admin_user).get("/admin/orchestrator/delivery/?state__exact=failed").content.decode()
    assert "the sender stopped mid-message" in listing

    runs_reconcile()
    items_notify()
    assert len(smtp_server.messages) == 1, "not sent again"
    assert Delivery.objects.get(channel="email").state == "failed"


@contextlib.contextmanager
def _a_sender_the_server_holds(email_item, smtp_server, wait_for) -> Iterator[None]:
    """A run suspends in a thread and its worker mails the new item's reviewers; the server has the
    message and holds its answer while the block runs, then answers 250. The sender must be done."""
    smtp_server.answer("hold")

    def suspend_a_run() -> None:
        try:
            email_item()  # the worker mails the new item's reviewers at once
        finally:
            connection.close()  # this thread's own connection

    sender = threading.Thread(target=suspend_a_run)
    sender.start()
    try:
        wait_for(lambda: smtp_server.messages, what="the e-mail to reach the mail server")
        yield
    finally:
        smtp_server.release()  # the server answers 250 at last
        sender.join(timeout=30)
    assert not sender.is_alive()


def test_a_sender_that_was_only_slow_records_its_email_as_sent_after_all(
        email_item, reviewer_user, settings, smtp_server, wait_for):
    settings.EMAIL_TIMEOUT = 60  # the held message waits for the test, not for a timeout
    with _a_sender_the_server_holds(email_item, smtp_server, wait_for):
        claims_lapse()
        assert deliveries_fail_lapsed() == 1
        assert Delivery.objects.get(channel="email").state == "failed"

    email = Delivery.objects.get(channel="email")
    assert (email.state, email.last_error) == ("sent", "")
    assert len(smtp_server.accepted) == 1


def test_an_email_s_claim_lasts_as_long_as_its_mail_server_may_take(
        email_item, reviewer_user, settings, smtp_server, wait_for):
    """A slow but live mail sender is not given up while the server may still answer: its claim follows
    the mail timeout, not the (much shorter) webhook one."""
    settings.EMAIL_TIMEOUT, settings.GATEHOUSE_WEBHOOK_TIMEOUT_SECONDS = 300, 1
    with _a_sender_the_server_holds(email_item, smtp_server, wait_for):
        email = Delivery.objects.get(channel="email")
        assert email.state == "sending"
        assert email.next_attempt_at - db_now() > timedelta(minutes=45), "claimed for ten mail timeouts"
        assert deliveries_fail_lapsed() == 0, "its sender is still within its claim"
        assert Delivery.objects.get(channel="email").state == "sending"
    assert Delivery.objects.get(channel="email").state == "sent"
