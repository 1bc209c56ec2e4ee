"""A receiver that refuses a webhook (a 4xx: bad request, gone, unauthorised) gets it once: trying
again would only be refused again. 408 (it timed out) and 429 (too many) are "later", so are retried."""

from __future__ import annotations

import pytest

from review.notifications import items_notify
from tests.deliveries import deliveries_of, retries_due


@pytest.mark.parametrize("status", [400, 401, 404, 410])
def test_a_refused_webhook_is_posted_once(email_item, reviewer_user, settings, webhook_server, status):
    settings.GATEHOUSE_REVIEW_WEBHOOK_URL = webhook_server.url
    webhook_server.answer(status)

    item = email_item()
    retries_due()
    items_notify()

    assert len(webhook_server.requests) == 1
    webhook = deliveries_of("review", item.pk)["webhook"]
    assert webhook.state == "failed" and webhook.last_error.startswith(f"HTTP {status} ")
    assert "not retried" in webhook.last_error


@pytest.mark.parametrize("status", [408, 429])
def test_a_webhook_the_receiver_asks_to_send_later_is_retried(email_item, reviewer_user, settings, webhook_server,
                                                               status):
    settings.GATEHOUSE_REVIEW_WEBHOOK_URL = webhook_server.url
    webhook_server.answer(status)

    item = email_item()
    retries_due()
    items_notify()

    assert len(webhook_server.requests) == 2
    assert deliveries_of("review", item.pk)["webhook"].state == "sent"
