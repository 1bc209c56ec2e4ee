"""A webhook the receiver failed (a 503) is posted again once its wait has passed, as the same event,
and the item's e-mail, which went, is not sent again."""

from __future__ import annotations

from django.core import mail

from review.notifications import items_notify
from tests.deliveries import deliveries_of, retries_due


def test_a_failed_webhook_is_posted_again_as_the_same_event_without_a_second_email(
        email_item, reviewer_user, settings, webhook_server):
    settings.GATEHOUSE_REVIEW_WEBHOOK_URL = webhook_server.url
    webhook_server.answer(503)
    mail.outbox.clear()

    item = email_item()  # the worker tells people at once: the e-mail goes, the receiver answers 503

    assert len(mail.outbox) == 1 and len(webhook_server.requests) == 1
    assert items_notify() == 0, "the reconciler's pass leaves the retry to its time"
    assert len(webhook_server.requests) == 1

    retries_due()
    assert items_notify() == 1

    first, again = webhook_server.requests
    assert again.body == first.body, "the same event, body and id"
    assert again.headers["Idempotency-Key"] == again.body["event_id"] == str(deliveries_of("review", item.pk)[
        "webhook"].event_id)
    assert again.headers["X-Gatehouse-Event"] == "review.pending" and again.body["item"] == item.pk
    assert len(mail.outbox) == 1, "the e-mail is not sent again"

    retries_due()
    assert items_notify() == 0 and len(webhook_server.requests) == 2, "delivered: not posted again"
