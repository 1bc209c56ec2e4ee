"""A receiver that answers 429 (too many) or 503 (unavailable) with Retry-After gets the webhook again no
sooner than it asked, in seconds or as an HTTP-date: the later of that and the schedule's step, held to
the schedule's longest step so that a receiver cannot park an event for ever. The rest of that pass
posts nothing more to it: those webhooks wait as long, without it counting as one of their attempts."""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime

import pytest
from django.utils import timezone

from orchestrator.models import Delivery
from review.notifications import items_notify
from tests.deliveries import db_now, deliveries_of, retries_due, waits_its_step


@pytest.mark.parametrize("status", [429, 503])
def test_a_webhook_is_posted_again_after_the_seconds_its_receiver_asked_for(
        email_item, reviewer_user, settings, webhook_server, status):
    settings.GATEHOUSE_REVIEW_WEBHOOK_URL = webhook_server.url
    settings.GATEHOUSE_NOTIFY_RETRY_MINUTES = [1, 30]
    webhook_server.answer((status, {"Retry-After": "600"}))

    before = db_now()
    item = email_item()
    webhook = deliveries_of("review", item.pk)["webhook"]

    assert waits_its_step(webhook, minutes=10, failed_between=(before, db_now())), "ten minutes, not one"
    assert "it asked to wait 600 s" in webhook.last_error, "what the admin's Deliveries list shows"
    assert items_notify() == 0 and len(webhook_server.requests) == 1, "not before then"
    retries_due()
    assert items_notify() == 1
    first, again = webhook_server.requests
    assert again.body == first.body and deliveries_of("review", item.pk)["webhook"].state == "sent"


def test_a_webhook_is_posted_again_no_sooner_than_the_http_date_its_receiver_gave(
        email_item, reviewer_user, settings, webhook_server):
    settings.GATEHOUSE_REVIEW_WEBHOOK_URL = webhook_server.url
    settings.GATEHOUSE_NOTIFY_RETRY_MINUTES = [1, 1440]
    not_before = (timezone.now() + timedelta(hours=2)).replace(microsecond=0)
    webhook_server.answer((503, {"Retry-After": format_datetime(not_before, usegmt=True)}))

    item = email_item()
    after = db_now()

    webhook = deliveries_of("review", item.pk)["webhook"]
    assert not_before <= webhook.next_attempt_at <= after + timedelta(hours=2) * 1.2


@pytest.mark.parametrize(("retry_after", "minutes"), [
    ("5", 1),  # sooner than the step: the step it is (a receiver does not make us hurry)
    ("864000", 30),  # ten days: held to the schedule's longest step
    ("in a while", 1),  # unreadable: the step alone
])
def test_a_retry_waits_the_later_of_its_step_and_retry_after_held_to_the_longest_step(
        email_item, reviewer_user, settings, webhook_server, retry_after, minutes):
    settings.GATEHOUSE_REVIEW_WEBHOOK_URL = webhook_server.url
    settings.GATEHOUSE_NOTIFY_RETRY_MINUTES = [1, 30]
    webhook_server.answer((429, {"Retry-After": retry_after}))

    before = db_now()
    item = email_item()

    webhook = deliveries_of("review", item.pk)["webhook"]
    assert (webhook.state, webhook.attempts) == ("pending", 1)
    assert waits_its_step(webhook, minutes=minutes, failed_between=(before, db_now()))


def test_after_a_retry_after_the_pass_posts_nothing_more_to_that_receiver(
        email_item, reviewer_user, settings, webhook_server):
    settings.GATEHOUSE_REVIEW_WEBHOOK_URL = webhook_server.url
    settings.GATEHOUSE_NOTIFY_RETRY_MINUTES = [1, 1, 30]
    webhook_server.answer(502, 502, (429, {"Retry-After": "600"}))
    items = [email_item(), email_item(topic="Q4 numbers")]  # each webhook's first attempt: 502
    retries_due()

    before = db_now()
    items_notify()  # the first is answered 429 "in ten minutes"; the second is not posted
    after = db_now()

    assert len(webhook_server.requests) == 3
    webhooks = Delivery.objects.filter(channel="webhook", ref__in=[i.pk for i in items])
    posted, held = sorted(webhooks, key=lambda w: -w.attempts)
    assert (posted.attempts, held.attempts) == (2, 1), "the one not posted spent no attempt"
    assert waits_its_step(posted, minutes=10, failed_between=(before, after))
    assert before + timedelta(minutes=10) <= held.next_attempt_at <= after + timedelta(minutes=10)
    assert held.last_error.startswith("not tried: the receiver asked earlier in this pass to wait")

    retries_due()
    assert items_notify() == 2
    assert sorted(b["item"] for b in webhook_server.bodies[3:]) == sorted(i.pk for i in items)
