"""A seal's copy outside the database may go to a webhook (GATEHOUSE_SEAL_WEBHOOK_URL) as well as the seal
directory. It used to be posted once, when the file was written, and a receiver that was down never got
it: the copy that makes deleting the newest seals detectable was simply missing there. Now it goes through
the notification outbox, queued with the seal: a failed POST is retried until the receiver has it, as the
same event (one event_id), with the seal exactly as the directory copy holds it; a receiver that refuses it
(4xx) is not asked again."""

from __future__ import annotations

import json

from audit.sealing import SEAL_SOURCE, ledger_seal, seal_pass
from tests.deliveries import deliveries_of, retries_due


def _copy(seal_dir, seal_no: int) -> dict:
    return json.loads((seal_dir / f"seal-{seal_no:08d}.json").read_bytes())


def test_a_seal_posted_while_the_receiver_was_down_arrives_once_it_is_back(letter_run, seal_dir, settings,
                                                                           webhook_server):
    settings.GATEHOUSE_SEAL_WEBHOOK_URL = webhook_server.url
    webhook_server.answer(503)
    letter_run()

    seal = ledger_seal()

    assert len(webhook_server.requests) == 1
    webhook = deliveries_of(SEAL_SOURCE, seal.seal_no)["webhook"]
    assert webhook.state == "pending" and webhook.last_error.startswith("HTTP 503")
    assert _copy(seal_dir, 1)  # the directory copy did not wait for the webhook

    seal_pass()  # not due yet: nothing is posted again
    assert len(webhook_server.requests) == 1

    retries_due()
    seal_pass()

    first, again = webhook_server.requests
    assert again.body == first.body and again.headers["Idempotency-Key"] == first.headers["Idempotency-Key"]
    posted = again.body
    assert posted["event"] == "ledger.seal" and posted["event_id"] == again.headers["Idempotency-Key"]
    copy = _copy(seal_dir, 1)
    assert {key: posted[key] for key in copy} == copy, "the webhook copy is the directory copy"
    assert deliveries_of(SEAL_SOURCE, seal.seal_no)["webhook"].state == "sent"


def test_each_seal_is_posted_once_when_the_receiver_answers(letter_run, settings, webhook_server):
    settings.GATEHOUSE_SEAL_WEBHOOK_URL = webhook_server.url
    letter_run(email="one@example.com")
    ledger_seal()
    letter_run(email="two@example.com")
    ledger_seal()
    seal_pass()

    assert [request.body["seal"]["seal_no"] for request in webhook_server.requests] == [1, 2]


def test_a_receiver_that_refuses_a_seal_is_not_asked_again(letter_run, settings, webhook_server):
    settings.GATEHOUSE_SEAL_WEBHOOK_URL = webhook_server.url
    webhook_server.answer(403)
    letter_run()
    seal = ledger_seal()

    retries_due()
    seal_pass()

    assert len(webhook_server.requests) == 1
    webhook = deliveries_of(SEAL_SOURCE, seal.seal_no)["webhook"]
    assert webhook.state == "failed" and "not retried" in webhook.last_error
