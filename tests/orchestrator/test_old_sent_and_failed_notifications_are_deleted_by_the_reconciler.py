"""The notification outbox does not grow for ever: a reconciler pass deletes sent and failed deliveries
(review items', cost alerts', seal copies') queued more than GATEHOUSE_DELIVERY_KEEP_DAYS ago. One still
waiting for its receiver or being sent is kept however old, and 0 keeps them all."""

from __future__ import annotations

from datetime import timedelta

from django.db.models.functions import Now

from audit.sealing import SEAL_SOURCE
from orchestrator.deliveries import Event, deliveries_prune, deliveries_queue, deliveries_send
from orchestrator.models import Delivery
from orchestrator.reconciler import runs_reconcile
from tests.deliveries import queued_days_ago


def _seal_copies(settings, webhook_server, *answers: int) -> list[int]:
    """Seal copies' webhooks, posted once: the receiver answers each in turn."""
    settings.GATEHOUSE_SEAL_WEBHOOK_URL = webhook_server.url
    webhook_server.answer(*answers)
    ids = deliveries_queue([Event(source=SEAL_SOURCE, ref=n, webhook={"event": "ledger.seal", "seal_no": n})
                            for n in range(1, len(answers) + 1)])
    deliveries_send(ids=ids)
    return ids


def test_settled_deliveries_past_their_days_go_and_unsettled_ones_stay(db, settings, webhook_server):
    settings.GATEHOUSE_DELIVERY_KEEP_DAYS = 90
    sent, refused, waiting, being_sent, recent = _seal_copies(settings, webhook_server, 204, 400, 503, 204, 204)
    # As a sender mid-POST leaves it (its claim has not lapsed).
    Delivery.objects.filter(pk=being_sent).update(state="sending", next_attempt_at=Now() + timedelta(minutes=5))
    queued_days_ago(91, pk__in=[sent, refused, waiting, being_sent])
    queued_days_ago(89, pk=recent)
    assert dict(Delivery.objects.values_list("pk", "state")) == {
        sent: "sent", refused: "failed", waiting: "pending", being_sent: "sending", recent: "sent"}

    runs_reconcile()

    assert dict(Delivery.objects.values_list("pk", "state")) == {
        waiting: "pending", being_sent: "sending", recent: "sent"}


def test_zero_days_keeps_every_delivery(db, settings, webhook_server):
    settings.GATEHOUSE_DELIVERY_KEEP_DAYS = 0
    _seal_copies(settings, webhook_server, 204, 400)
    queued_days_ago(10_000)

    runs_reconcile()

    assert Delivery.objects.count() == 2


def test_a_backlog_is_deleted_a_batch_a_pass(db, settings, webhook_server):
    settings.GATEHOUSE_DELIVERY_KEEP_DAYS = 90
    _seal_copies(settings, webhook_server, 204, 204, 204)
    queued_days_ago(91)

    assert [deliveries_prune(batch=2), deliveries_prune(batch=2), deliveries_prune(batch=2)] == [2, 1, 0]
    assert not Delivery.objects.exists()
