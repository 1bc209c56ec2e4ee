"""A cost alert's webhook that the receiver failed is shown on the Costs page as failed with its next
try, and posted again then as the same event; the alert's e-mail and ledger entry are not repeated."""

from __future__ import annotations

from django.core import mail

from audit.models import LedgerEntry
from orchestrator.cost_alerts import alerts_deliver
from orchestrator.models import CostAlert, CostSettings
from orchestrator.services import run_start
from tests.deliveries import retries_due


def test_an_alert_s_failed_webhook_is_shown_and_posted_again_alone(priced, advance, make_budget, settings,
                                                                   webhook_server, client_for, engineer_user):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    CostSettings.objects.filter(pk=1).update(alert_emails="finops@example.com", alert_webhook_url=webhook_server.url)
    webhook_server.answer(502)
    make_budget(cap="0.0005", thresholds=[10])

    advance(run_start(workflow="cost_probe", input={"calls": 1}))

    alert = CostAlert.objects.get(kind="threshold")
    page = client_for(engineer_user).get("/costs/").content.decode()
    assert "Webhook failed 1×, next try" in page and "HTTP 502 Bad Gateway" in page
    assert alerts_deliver() == 0, "not before its time"

    retries_due()
    assert alerts_deliver() == 1

    first, again = webhook_server.requests
    assert again.body == first.body and again.body["alert"] == alert.pk
    assert again.body["event"] == "cost_alert.threshold" == again.headers["X-Gatehouse-Event"]
    assert again.headers["Idempotency-Key"] == again.body["event_id"]
    assert len(mail.outbox) == 1
    assert LedgerEntry.objects.filter(chain="system", kind="cost_alert_threshold").count() == 1
    assert "Webhook sent" in client_for(engineer_user).get("/costs/").content.decode()
