"""The demo side effect: send an email through Django's email backend, once per key as far as it can.

An outbox, in three steps, each its own commit:
  1. Record the message under its idempotency key (or find the row an earlier call recorded).
  2. If that row is not marked sent, send what it holds, with the key as X-Idempotency-Key.
  3. Mark the row sent.
A send that fails leaves the row unsent, and so does a worker that dies before step 3: the retry or
the re-run node calls again with the same key (ctx.effect) and sends again. Only a row marked sent
makes a call a duplicate. That is at-least-once, not exactly-once: a crash after the mail server
took the message and before step 3 (or two workers on one run, the fenced one still sending) sends
it twice, and the header is what lets a receiver drop the second copy.
"""

from __future__ import annotations

from django.core.mail import EmailMessage
from django.utils import timezone

from orchestrator.models import OutboxMessage


def outbox_send(idempotency_key: str, to: str, subject: str, body: str) -> dict[str, str]:
    message, _ = OutboxMessage.objects.get_or_create(
        idempotency_key=idempotency_key, defaults={"to": to, "subject": subject, "body": body})
    if message.sent_at is not None:
        return {"message_id": f"outbox-{message.pk}", "duplicate": "true"}
    # The recorded message, not this call's arguments: a re-run makes the same call (ctx.effect), and
    # the outbox sends what it recorded.
    EmailMessage(subject=message.subject, body=message.body, to=[message.to],
                 headers={"X-Idempotency-Key": idempotency_key}).send()
    OutboxMessage.objects.filter(pk=message.pk, sent_at__isnull=True).update(sent_at=timezone.now())
    return {"message_id": f"outbox-{message.pk}"}
