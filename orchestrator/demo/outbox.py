"""The demo side effect: send an email through Django's email backend, at most once per key."""

from __future__ import annotations

from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction

from orchestrator.models import OutboxMessage


def outbox_send(idempotency_key: str, to: str, subject: str, body: str) -> dict[str, str]:
    """Insert the outbox row first; only the insert that wins sends the mail."""
    try:
        with transaction.atomic():
            message = OutboxMessage.objects.create(idempotency_key=idempotency_key, to=to, subject=subject,
                                                   body=body)
    except IntegrityError:
        message = OutboxMessage.objects.get(idempotency_key=idempotency_key)
        return {"message_id": f"outbox-{message.pk}", "duplicate": "true"}
    EmailMessage(subject=subject, body=body, to=[to], headers={"X-Idempotency-Key": idempotency_key}).send()
    return {"message_id": f"outbox-{message.pk}"}
