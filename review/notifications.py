"""New-item notifications: an e-mail to the gate's group and/or a webhook, each on its own.

Items are inserted by the executor's one-statement commit, so a pass sees only committed rows:
  1. `items_queue` claims up to N pending items nobody was told about (one UPDATE … RETURNING,
     SKIP LOCKED, so two passes never claim the same item) and, in the same transaction, queues one
     event per item: its e-mail and its webhook, rendered now, as two rows of the notification
     outbox (orchestrator.deliveries). An item escalated to another group is told about again.
  2. `orchestrator.deliveries.deliveries_send` sends them after that committed, each channel with
     its own state: a mail server that cannot be reached holds back no webhook (the e-mail waits for
     the next pass), a receiver that is down repeats no e-mail (the webhook is retried with backoff,
     with the same event id). The worker that suspended the run sends its items' at once; the
     reconciler's pass (`items_notify`) sends what is left and due.
Links open the item page, where deciding needs a POST; a mail scanner that pre-fetches the link
decides nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse

from orchestrator.deliveries import Event, deliveries_queue, deliveries_send
from review.models import ReviewItem
from review.permissions import group_deciders
from review.selectors import ForkNote, fork_notes

log = logging.getLogger("gatehouse.review")
SOURCE = "review"

_CLAIM = """
UPDATE review_reviewitem SET notified_at = statement_timestamp()
WHERE id IN (SELECT id FROM review_reviewitem WHERE status = 'pending' AND notified_at IS NULL
             ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED)
RETURNING id
"""


def item_url(item: ReviewItem) -> str:
    return settings.GATEHOUSE_BASE_URL + reverse("review:item", args=[item.pk])


def review_webhook_url() -> str:
    return settings.GATEHOUSE_REVIEW_WEBHOOK_URL


def items_queue(*, limit: int = 50) -> list[int]:
    """Queue the notifications of the pending items nobody was told about yet; returns the queued
    deliveries' ids. One transaction, and no network in it."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM, [limit])
            ids = [row[0] for row in cursor.fetchall()]
        items = list(ReviewItem.objects.filter(pk__in=ids).select_related("run").order_by("pk"))
        forks = fork_notes(item.run for item in items)  # one query for the pass, shared by e-mail and webhook
        return deliveries_queue([_event(item, forks.get(item.run_id)) for item in items])


def items_notify_new() -> int:
    """After a suspension: queue the new items' notifications and send those at once (not the
    retries of older ones, which are the reconciler's). Returns how many went out."""
    return deliveries_send(ids=items_queue())


def items_notify(*, limit: int = 50) -> int:
    """The reconciler's pass: queue what a worker left unqueued (it died right after its commit),
    then send every review notification that is due, first tries and retries. Returns how many
    went out."""
    items_queue(limit=limit)
    return deliveries_send(source=SOURCE)


def _event(item: ReviewItem, fork: ForkNote | None) -> Event:
    webhook = webhook_payload(item, fork) if settings.GATEHOUSE_REVIEW_WEBHOOK_URL else None
    email = _email(item, fork) if settings.GATEHOUSE_REVIEW_EMAIL_ENABLED else None
    return Event(source=SOURCE, ref=item.pk, email=email, webhook=webhook)


def _recipients(group: str) -> list[str]:
    return sorted(set(group_deciders(group).exclude(email="").values_list("email", flat=True)))


def _email(item: ReviewItem, fork: ForkNote | None) -> dict[str, Any] | None:
    recipients = _recipients(item.reviewer_group)
    if not recipients:
        log.info("review item %s: nobody in group %r has an email address", item.pk, item.reviewer_group)
        return None
    due = f"{item.due_at:%Y-%m-%d %H:%M} UTC" if item.due_at else "no deadline"
    escalated = f"\nEscalated from: {item.escalated_from} (deadline passed)" if item.escalated_from else ""
    # The item page's fork notice, in the same words: an engineer's experiment is not mistaken for real work.
    forked = f"\n\n{fork}\n— {fork.consequence}" if fork else ""
    body = (
        f"A workflow is waiting for a decision from the {item.reviewer_group} group.\n\n"
        f"Workflow: {item.workflow}\nAction:   {item.action}\nRisk:     {item.risk}\nDue:      {due}\n"
        f"Run:      {item.run.thread_id}{escalated}{forked}\n\n{item.summary}\n\n"
        f"Open the item: {item_url(item)}\n\n"
        "Opening the link decides nothing: you approve, reject or edit on the page.\n"
    )
    tag = f", fork: {'acts for real' if fork.effects_real else 'dry run'}" if fork else ""
    return {
        "subject": f"[Gatehouse] Review needed: {item.action or item.node} ({item.workflow}, {item.risk} risk{tag})",
        "body": body, "bcc": recipients, "headers": {"X-Gatehouse-Item": str(item.pk)},
    }


def webhook_payload(item: ReviewItem, fork: ForkNote | None) -> dict[str, Any]:
    return {
        "event": "review.pending", "item": item.pk, "thread_id": item.run.thread_id, "workflow": item.workflow,
        "action": item.action, "summary": item.summary, "risk": item.risk, "reviewer_group": item.reviewer_group,
        "escalated_from": item.escalated_from or None,
        "due_at": item.due_at.isoformat() if item.due_at else None, "url": item_url(item),
        # As /api/items gives it (review.api.item_json): null for an ordinary run.
        "fork": fork.to_json() if fork else None,
    }
