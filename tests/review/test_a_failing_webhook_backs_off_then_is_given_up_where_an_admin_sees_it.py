"""A webhook whose receiver keeps failing is tried again after each wait of
GATEHOUSE_NOTIFY_RETRY_MINUTES, then given up: an error in the log and a failed row in the admin's
Deliveries list, from which an admin sends it again once the receiver is fixed."""

from __future__ import annotations

import logging

from review.notifications import items_notify
from tests.deliveries import db_now, deliveries_of, retries_due, waits_its_step


def test_a_webhook_backs_off_is_given_up_and_an_admin_sends_it_again(
        email_item, reviewer_user, admin_user, client_for, settings, webhook_server, caplog):
    settings.GATEHOUSE_REVIEW_WEBHOOK_URL = webhook_server.url
    settings.GATEHOUSE_NOTIFY_RETRY_MINUTES = [1, 5]  # three attempts
    webhook_server.answer(500, 500, 500)

    before = db_now()
    item = email_item()  # attempt 1
    assert waits_its_step(deliveries_of("review", item.pk)["webhook"], minutes=1, failed_between=(before, db_now()))
    retries_due()
    before = db_now()
    items_notify()  # attempt 2
    assert waits_its_step(deliveries_of("review", item.pk)["webhook"], minutes=5, failed_between=(before, db_now()))
    retries_due()
    with caplog.at_level(logging.ERROR, logger="gatehouse.notify"):
        items_notify()  # attempt 3, the last

    webhook = deliveries_of("review", item.pk)["webhook"]
    assert (webhook.state, webhook.last_error) == ("failed", "given up after 3 attempts: HTTP 500 Internal Server Error")
    assert any("given up after 3 attempts" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)
    retries_due()
    items_notify()
    assert len(webhook_server.requests) == 3, "given up: not posted again"

    admin = client_for(admin_user)
    listing = admin.get("/admin/orchestrator/delivery/?state__exact=failed")
    assert listing.status_code == 200 and "given up after 3 attempts" in listing.content.decode()

    # The receiver works again (it answers 204 from now on): the admin sends the webhook again.
    response = admin.post("/admin/orchestrator/delivery/", {"action": "send_again", "_selected_action": [webhook.pk]})
    assert response.status_code == 302
    items_notify()
    assert len(webhook_server.requests) == 4
    assert webhook_server.bodies[3] == webhook_server.bodies[0], "the same event, so the receiver can tell"
    assert deliveries_of("review", item.pk)["webhook"].state == "sent"
