"""A review item's notifications carry its texts (the e-mail's body, the webhook's summary), so erasing
the run's personal data erases them too, and a webhook still waiting for its receiver is no longer
sent; pruning the run removes them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.erasure import audit_erase
from audit.retention import retention_prune
from audit.sealing import ledger_seal
from orchestrator.models import Delivery
from review.notifications import items_notify
from review.services import DecisionInput, review_decide
from tests.deliveries import retries_due
from tests.review.fixtures import email_item  # noqa: F401  (fixture)


@pytest.fixture
def rejected_item(email_item, reviewer_user, settings, webhook_server):  # noqa: F811
    """A finished (rejected) run's item: its e-mail went, its webhook waits for a receiver that failed."""
    settings.GATEHOUSE_REVIEW_WEBHOOK_URL = webhook_server.url
    webhook_server.answer(503)
    item = email_item(to="ana@customer.example")
    review_decide(item=item, actor=reviewer_user, decision=DecisionInput("reject", reason="wrong recipient"))
    item.run.refresh_from_db()
    assert item.run.status == "rejected"
    assert "ana@customer.example" in str(list(Delivery.objects.values_list("content", flat=True)))
    return item


def test_erasing_a_run_erases_its_notifications_and_stops_their_retries(rejected_item, admin_user, webhook_server):
    audit_erase(actor=admin_user, run=rejected_item.run.thread_id)

    assert "ana@customer.example" not in str(list(Delivery.objects.values_list("content", flat=True)))
    assert dict(Delivery.objects.values_list("channel", "state")) == {"email": "sent", "webhook": "failed"}
    retries_due()
    items_notify()
    assert len(webhook_server.requests) == 1, "the waiting webhook is not sent after the erasure"


def test_pruning_a_run_removes_its_notifications(rejected_item, seal_dir):
    assert ledger_seal() is not None  # only sealed history is pruned

    plan = retention_prune(dry_run=False, now=timezone.now() + timedelta(days=500))

    assert len(plan.due) == 1
    assert not Delivery.objects.exists()
