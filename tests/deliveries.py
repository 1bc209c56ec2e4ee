"""Moving the notification outbox's clock on without waiting: a retry's wait is a time in its row
(orchestrator.Delivery.next_attempt_at), so a test makes it due instead of sleeping through it."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection
from django.db.models.functions import Now

from orchestrator.models import Delivery


def retries_due(**filters: object) -> int:
    """Every waiting delivery (among `filters`) is due now, as if its wait had passed; returns how many."""
    return Delivery.objects.filter(state="pending", **filters).update(next_attempt_at=Now())


def claims_lapse(**filters: object) -> int:
    """Every delivery being sent (among `filters`) has its claim lapse now, as if its sender had been
    gone past the claim's time; returns how many."""
    return Delivery.objects.filter(state="sending", **filters).update(next_attempt_at=Now())


def queued_days_ago(days: int, **filters: object) -> int:
    """Every delivery (among `filters`) was queued `days` ago, as the outbox's pruning reads it
    (created_at); returns how many."""
    return Delivery.objects.filter(**filters).update(created_at=Now() - timedelta(days=days))


def deliveries_of(source: str, ref: int) -> dict[str, Delivery]:
    """The channel -> delivery of the one event about this item or alert."""
    return {d.channel: d for d in Delivery.objects.filter(source=source, ref=ref)}


def db_now() -> datetime:
    """The database's clock as the outbox's writes read it (now(): their transaction's start), which
    every retry's time (next_attempt_at) is counted from."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        return cursor.fetchone()[0]


def waits_its_step(delivery: Delivery, *, minutes: float, failed_between: tuple[datetime, datetime]) -> bool:
    """Whether a delivery that failed between these two times (db_now()) is waiting ("pending") `minutes`
    and at most a fifth more (the jitter) before its next try. A row still "sending" does not: its claim's
    end (a minute past two webhook timeouts, `claim_seconds`) would otherwise pass for a one-minute step."""
    since, until = failed_between
    step = timedelta(minutes=minutes)
    return delivery.state == "pending" and since + step <= delivery.next_attempt_at <= until + step * 1.2
