"""The demo e-mail effect is an outbox: a row says "sent" only once the mail backend took the message.

A send that failed (the mail server dropped the connection) or never happened (the worker died
between recording the message and sending it) is sent again by the retry or the re-run, under the
same X-Idempotency-Key; only a message marked sent is reported as a duplicate. The run's history
then says what happened: one retry, and the message id of the one delivery.
"""

from __future__ import annotations

from django.core import mail

from audit.models import LedgerEntry
from orchestrator.demo.outbox import outbox_send
from orchestrator.history import state_at
from orchestrator.models import JournalEntry, OutboxMessage, Run
from orchestrator.services import run_start
from orchestrator.state import loads
from review.models import ReviewItem
from review.services import DecisionInput, review_decide
from tests.fakes.mail import MAIL_DIR_VARIABLE, delivered


def test_an_email_the_mail_server_dropped_once_is_delivered_once_and_the_run_says_so(
        start_worker, wait_for, make_user, tmp_path):
    rita = make_user("rita", "reviewer")
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    start_worker(env={"EMAIL_BACKEND": "tests.fakes.mail.FailsOnceBackend", MAIL_DIR_VARIABLE: str(mail_dir)})
    run = run_start(workflow="email_approval", input={"to": "cfo@example.com", "topic": "Q3 numbers"})
    item = wait_for(lambda: ReviewItem.objects.filter(run=run, status="pending").first(), what="the review item")

    review_decide(item=item, actor=rita, decision=DecisionInput("approve"))
    wait_for(lambda: Run.objects.get(pk=run.pk).status in {"completed", "failed"}, what="the run to finish")

    run.refresh_from_db()
    assert run.status == "completed", run.error
    effect = JournalEntry.objects.get(run=run, kind="effect")
    sent = [m for m in delivered(mail_dir) if "X-Idempotency-Key" in m["headers"]]
    assert [(m["to"], m["headers"]["X-Idempotency-Key"]) for m in sent] == [
        (["cfo@example.com"], effect.idempotency_key)], "delivered exactly once, under the effect's key"
    row = OutboxMessage.objects.get()
    assert row.sent_at is not None
    assert loads(effect.result) == {"message_id": f"outbox-{row.pk}"}, "a first delivery, not a duplicate"
    assert state_at(run.pk, run.step)["log"][-1] == f"sent as outbox-{row.pk}"
    retries = [loads(e.payload) for e in LedgerEntry.objects.filter(chain=run.thread_id, kind="retry")]
    assert [(r["node"], r["error"]) for r in retries] == [("send", "SMTPServerDisconnected")]


def test_a_message_recorded_but_never_sent_is_sent_by_the_next_call_with_its_key(db, settings):
    # As a worker SIGKILLed between recording the message and handing it to the mail server leaves it.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    key = "T-1:3:0:send_email"
    unsent = OutboxMessage.objects.create(idempotency_key=key, to="cfo@example.com", subject="Q3", body="Numbers.",
                                          sent_at=None)

    result = outbox_send(key, "cfo@example.com", "Q3", "Numbers.")

    assert result == {"message_id": f"outbox-{unsent.pk}"}
    assert [(m.to, m.extra_headers["X-Idempotency-Key"]) for m in mail.outbox] == [(["cfo@example.com"], key)]
    unsent.refresh_from_db()
    assert unsent.sent_at is not None


def test_only_a_message_marked_sent_is_a_duplicate(db, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    key = "T-2:3:0:send_email"

    first = outbox_send(key, "cfo@example.com", "Q3", "Numbers.")
    again = outbox_send(key, "cfo@example.com", "Q3", "Numbers.")

    assert "duplicate" not in first
    assert again == {**first, "duplicate": "true"}
    assert len(mail.outbox) == 1
