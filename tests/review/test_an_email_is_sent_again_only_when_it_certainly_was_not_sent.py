"""A review e-mail goes to a whole group, so it is sent at most once after the mail server had it: one
whose connection dropped before the server answered may have arrived, and is not sent again (the
admin's Deliveries list says so). One the server answered "not now" (451) certainly was not taken,
and is sent again after its wait. Neither touches the item's webhook."""

from __future__ import annotations

from review.notifications import items_notify
from tests.deliveries import deliveries_of, retries_due


def test_an_email_lost_mid_message_is_not_sent_again(email_item, reviewer_user, settings, smtp_server,
                                                     webhook_server):
    settings.GATEHOUSE_REVIEW_WEBHOOK_URL = webhook_server.url
    smtp_server.answer("drop")

    item = email_item()
    retries_due()
    items_notify()
    items_notify()

    assert len(smtp_server.messages) == 1, "it reached the server once, and is not sent again"
    email = deliveries_of("review", item.pk)["email"]
    assert email.state == "failed" and "it may have arrived, so it is not sent again" in email.last_error
    assert len(webhook_server.requests) == 1


def test_an_email_the_server_deferred_is_sent_again_after_its_wait(email_item, reviewer_user, settings,
                                                                   smtp_server, webhook_server):
    settings.GATEHOUSE_REVIEW_WEBHOOK_URL = webhook_server.url
    smtp_server.answer("451")

    item = email_item()
    assert items_notify() == 0, "not before its wait"
    retries_due()
    assert items_notify() == 1

    assert len(smtp_server.accepted) == 1 and len(smtp_server.messages) == 2
    assert smtp_server.accepted[0]["X-Gatehouse-Item"] == str(item.pk)
    assert deliveries_of("review", item.pk)["email"].state == "sent"
    assert len(webhook_server.requests) == 1
