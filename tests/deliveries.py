"""Moving the notification outbox's clock on without waiting: a retry's wait is a time in its row
(orchestrator.Delivery.next_attempt_at), so a test makes it due instead of sleeping through it."""

from __future__ import annotations

from django.db.models.functions import Now

from orchestrator.models import Delivery


def retries_due(**filters: object) -> int:
    """Every waiting delivery (among `filters`) is due now, as if its wait had passed; returns how many."""
    return Delivery.objects.filter(state="pending", **filters).update(next_attempt_at=Now())


def deliveries_of(source: str, ref: int) -> dict[str, Delivery]:
    """The channel -> delivery of the one event about this item or alert."""
    return {d.channel: d for d in Delivery.objects.filter(source=source, ref=ref)}
