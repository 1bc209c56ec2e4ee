"""A cost alert's e-mail and webhook rows leave the notification outbox GATEHOUSE_DELIVERY_KEEP_DAYS
after they were queued (the reconciler deletes them once sent); the alert itself stays on the Costs page
and in the ledger, and nothing is sent again."""

from __future__ import annotations

from django.core import mail

from audit.models import LedgerEntry
from orchestrator.models import CostAlert, CostSettings, Delivery
from orchestrator.reconciler import runs_reconcile
from orchestrator.services import run_start
from tests.deliveries import queued_days_ago


def test_an_old_alert_s_deliveries_are_deleted_and_the_alert_is_not_sent_again(
        priced, advance, make_budget, settings, webhook_server, client_for, engineer_user):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.GATEHOUSE_DELIVERY_KEEP_DAYS = 90
    CostSettings.objects.filter(pk=1).update(alert_emails="finops@example.com", alert_webhook_url=webhook_server.url)
    make_budget(cap="0.0005", thresholds=[10])
    advance(run_start(workflow="cost_probe", input={"calls": 1}))
    alert = CostAlert.objects.get(kind="threshold")
    deliveries = Delivery.objects.filter(source="cost_alert", ref=alert.pk)
    assert sorted(deliveries.values_list("channel", "state")) == [("email", "sent"), ("webhook", "sent")]

    runs_reconcile()
    assert deliveries.count() == 2, "not before their days"
    queued_days_ago(91, source="cost_alert", ref=alert.pk)
    runs_reconcile()

    assert not deliveries.exists()
    assert len(mail.outbox) == 1 and len(webhook_server.requests) == 1, "nothing is sent again"
    page = client_for(engineer_user).get("/costs/").content.decode()
    assert 'data-testid="alert-webhook"' not in page and alert.get_kind_display() in page, "the alert stays listed"
    assert LedgerEntry.objects.filter(chain="system", kind="cost_alert_threshold").count() == 1
