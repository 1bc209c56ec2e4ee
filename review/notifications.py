"""New-item notifications: an email to the gate's group and/or a webhook, sent by a reconciler pass.

Items are inserted by the executor's one-statement commit, so the pass sees only committed rows:
  1. Claim up to N un-notified pending items with one UPDATE … RETURNING (SKIP LOCKED, so two
     reconcilers never claim the same item) — this commits before anything is sent.
  2. Send the email (Django's email backend, one connection for the pass) and POST the webhook
     (GATEHOUSE_REVIEW_WEBHOOK_URL).
  3. Give back the claim of the items nothing was sent for, because the mail server could not be
     reached: the first such failure ends the pass's mail (each attempt waits EMAIL_TIMEOUT), and
     those items, webhook included, are notified whole by a later pass.
At most once otherwise: a send that failed once the server was reached (it may have arrived) is
logged, not retried, so nobody is mailed twice. Links open the item page, where deciding needs a
POST; a mail scanner that pre-fetches the link decides nothing.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import connection
from django.urls import reverse

from orchestrator.mail import MailPass, MailServerUnreachable
from review.models import ReviewItem
from review.selectors import ForkNote, fork_notes

log = logging.getLogger("gatehouse.review")

_CLAIM = """
UPDATE review_reviewitem SET notified_at = statement_timestamp()
WHERE id IN (SELECT id FROM review_reviewitem WHERE status = 'pending' AND notified_at IS NULL
             ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED)
RETURNING id
"""


def item_url(item: ReviewItem) -> str:
    return settings.GATEHOUSE_BASE_URL + reverse("review:item", args=[item.pk])


_RELEASE = "UPDATE review_reviewitem SET notified_at = NULL WHERE id = ANY(%s)"


def items_notify(*, limit: int = 50) -> int:
    """Notify the pending items nobody was told about yet; returns how many were notified."""
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM, [limit])
        ids = [row[0] for row in cursor.fetchall()]
    unsent = []
    items = list(ReviewItem.objects.filter(pk__in=ids).select_related("run").order_by("pk"))
    forks = fork_notes(item.run for item in items)  # one query for the pass, shared by e-mail and webhook
    with MailPass() as mail:
        for item in items:
            if not item_notify(item=item, mail=mail, fork=forks.get(item.run_id)):
                unsent.append(item.pk)
    if unsent:
        with connection.cursor() as cursor:
            cursor.execute(_RELEASE, [unsent])
        log.warning("review notifications: the mail server could not be reached (%s); %d item(s) left for the "
                    "next pass", mail.unreachable, len(unsent))
    return len(ids) - len(unsent)


def item_notify(*, item: ReviewItem, mail: MailPass, fork: ForkNote | None) -> bool:
    """Email and webhook for one item; False if nothing was sent because the mail server could not be
    reached (the item is then left for the next pass, webhook included, so it is posted once)."""
    if settings.GATEHOUSE_REVIEW_EMAIL_ENABLED:
        try:
            _email(item, mail, fork)
        except MailServerUnreachable:
            return False
        except Exception as exc:  # reached the server, then failed: it may have arrived, so not again
            log.warning("review item %s: notification email failed: %s", item.pk, exc)
    if settings.GATEHOUSE_REVIEW_WEBHOOK_URL:
        try:
            _webhook(item, fork)
        except Exception as exc:
            log.warning("review item %s: webhook to %s failed: %s", item.pk, settings.GATEHOUSE_REVIEW_WEBHOOK_URL, exc)
    return True


def _recipients(group: str) -> list[str]:
    users = get_user_model().objects.filter(groups__name=group, is_active=True).exclude(email="")
    return sorted(set(users.values_list("email", flat=True)))


def _email(item: ReviewItem, mail: MailPass, fork: ForkNote | None) -> None:
    recipients = _recipients(item.reviewer_group)
    if not recipients:
        log.info("review item %s: nobody in group %r has an email address", item.pk, item.reviewer_group)
        return
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
    mail.send(EmailMessage(
        subject=f"[Gatehouse] Review needed: {item.action or item.node} ({item.workflow}, {item.risk} risk{tag})",
        body=body, bcc=recipients, headers={"X-Gatehouse-Item": str(item.pk)},
    ))


def webhook_payload(item: ReviewItem, fork: ForkNote | None) -> dict[str, Any]:
    return {
        "event": "review.pending", "item": item.pk, "thread_id": item.run.thread_id, "workflow": item.workflow,
        "action": item.action, "summary": item.summary, "risk": item.risk, "reviewer_group": item.reviewer_group,
        "escalated_from": item.escalated_from or None,
        "due_at": item.due_at.isoformat() if item.due_at else None, "url": item_url(item),
        # As /api/items gives it (review.api.item_json): null for an ordinary run.
        "fork": fork.to_json() if fork else None,
    }


def _webhook(item: ReviewItem, fork: ForkNote | None) -> None:
    request = urllib.request.Request(
        settings.GATEHOUSE_REVIEW_WEBHOOK_URL, data=json.dumps(webhook_payload(item, fork)).encode(), method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "gatehouse-review/1"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - the URL is operator-configured
        response.read()
