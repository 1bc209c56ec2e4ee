"""The notification outbox: one row per event and channel (orchestrator.deliveries sends them).

A new review item, cost alert or seal copy becomes one event (one `event_id`) with an e-mail row and/or a
webhook row, each rendered when the event is queued and each with its own state, so a failure on
one channel neither holds back nor repeats the other.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

__all__ = ["Delivery", "DeliveryChannel", "DeliveryState"]


class DeliveryChannel(models.TextChoices):
    EMAIL = "email", "E-mail"
    WEBHOOK = "webhook", "Webhook"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Waiting"  # due at next_attempt_at
    # Claimed until next_attempt_at: a webhook's lapsed claim is taken over (posted again), an e-mail's is
    # given up as failed (orchestrator.deliveries.deliveries_fail_lapsed).
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"  # given up, refused, or an e-mail lost mid-message (not sent again)


class Delivery(models.Model):
    # The event's id, shared by its channels: the webhook's "event_id" and Idempotency-Key header.
    event_id = models.UUIDField()
    # What the event is about: "review" (a review item's id), "cost_alert" (a cost alert's id) or
    # "seal" (a seal's number, posted to GATEHOUSE_SEAL_WEBHOOK_URL). It
    # also names whose webhook URL a retry goes to, read when it is sent (orchestrator.deliveries).
    source = models.CharField(max_length=30)
    ref = models.BigIntegerField()
    channel = models.CharField(max_length=10, choices=DeliveryChannel.choices)
    state = models.CharField(max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    # E-mail: subject, body, to, bcc, headers. Webhook: the JSON body, the same on every attempt.
    content = models.JSONField()
    attempts = models.IntegerField(default=0)
    # The database's clock, as every claim compares with it: an app server's clock ahead of it would
    # otherwise make a new row wait.
    next_attempt_at = models.DateTimeField(db_default=Now())
    last_error = models.CharField(max_length=1000, blank=True, default="")
    created_at = models.DateTimeField(db_default=Now())
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [models.UniqueConstraint(fields=["event_id", "channel"], name="delivery_once_per_channel")]
        indexes = [
            models.Index(fields=["next_attempt_at", "id"], name="delivery_due",
                         condition=Q(state__in=["pending", "sending"])),
            models.Index(fields=["source", "ref"], name="delivery_subject"),
            # The reconciler's prune (orchestrator.deliveries.deliveries_prune) looks for old settled
            # rows every pass: this finds none without reading the table.
            models.Index(fields=["created_at"], name="delivery_settled", condition=Q(state__in=["sent", "failed"])),
        ]

    @property
    def note(self) -> str:
        """What became of it, in a few words (the Costs page's alert list)."""
        name = self.get_channel_display()
        if self.state == DeliveryState.SENT:
            return f"{name} sent"
        if self.state == DeliveryState.FAILED:
            return f"{name} not delivered: {self.last_error}"
        if self.state == DeliveryState.SENDING:
            return f"{name} being sent"
        if self.attempts:
            return (f"{name} failed {self.attempts}×, next try {self.next_attempt_at:%Y-%m-%d %H:%M} UTC: "
                    f"{self.last_error}")
        return f"{name} waiting: {self.last_error}" if self.last_error else f"{name} waiting"

    def __str__(self) -> str:
        return f"{self.source} {self.ref} by {self.get_channel_display().lower()}: {self.get_state_display().lower()}"
