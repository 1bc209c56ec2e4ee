"""A new item mails its group and posts the webhook, once, after commit; links open the item page.

The worker that suspends the run notifies at once (orchestrator.executor.AFTER_SUSPEND); the
reconciler's pass (`items_notify`) is the safety net for a worker that died right after its commit.
"""

from __future__ import annotations

from django.core import mail

from orchestrator.models import Delivery
from review.models import ReviewItem
from review.notifications import items_notify


def test_a_new_item_emails_its_group_and_posts_the_webhook_once(email_item, reviewer_user, reviewer2_user,
                                                               engineer_user, settings, webhook_receiver):
    url, received = webhook_receiver
    settings.GATEHOUSE_REVIEW_WEBHOOK_URL = url
    settings.GATEHOUSE_BASE_URL = "https://gatehouse.example"
    mail.outbox.clear()
    item = email_item()  # the worker suspends the run at the gate and notifies right away

    assert len(mail.outbox) == 1
    assert items_notify() == 0  # the reconciler's pass finds nothing left: never twice

    message = mail.outbox[-1]
    assert sorted(message.bcc) == ["reviewer2@example.com", "reviewer@example.com"]  # not the engineer
    assert "send_email" in message.subject and "high risk" in message.subject
    assert f"https://gatehouse.example/inbox/{item.pk}/" in message.body
    # One event, told on both channels; the webhook names it, so a receiver can drop a repeat.
    [event_id] = {str(d.event_id) for d in Delivery.objects.filter(source="review", ref=item.pk)}
    assert received == [{
        "event": "review.pending", "event_id": event_id, "item": item.pk, "thread_id": item.run.thread_id, "workflow": "email_approval",
        "action": "send_email", "summary": item.summary, "risk": "high", "reviewer_group": "reviewer",
        "escalated_from": None, "due_at": item.due_at.isoformat(), "url": f"https://gatehouse.example/inbox/{item.pk}/",
        "fork": None,
    }]
    assert {(d.channel, d.state) for d in Delivery.objects.filter(ref=item.pk)} == {("email", "sent"),
                                                                                  ("webhook", "sent")}


def test_a_webhook_that_is_down_does_not_stop_the_email(email_item, reviewer_user, settings):
    settings.GATEHOUSE_REVIEW_WEBHOOK_URL = "http://127.0.0.1:9/unreachable"
    mail.outbox.clear()
    email_item()

    assert len(mail.outbox) == 1


def test_the_reconciler_pass_notifies_items_a_worker_left_unnotified(email_item, reviewer_user):
    item = email_item()
    # As if the worker died right after its commit: nothing queued for the item.
    ReviewItem.objects.filter(pk=item.pk).update(notified_at=None)
    Delivery.objects.filter(source="review", ref=item.pk).delete()
    mail.outbox.clear()

    assert items_notify() == 1
    assert len(mail.outbox) == 1


def test_opening_the_notified_link_decides_nothing(email_item, reviewer_user, client_for):
    item = email_item()
    client = client_for(reviewer_user)

    page = client.get(f"/inbox/{item.pk}/")

    assert page.status_code == 200
    item.refresh_from_db()
    assert (item.status, item.claimed_by) == ("pending", None)
