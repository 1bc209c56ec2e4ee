"""A cost alert raised while the mail server cannot be reached is recorded in the ledger and posted to
the webhook at once; the Costs page says its e-mail is waiting; once the server is back, the
reconciler's pass mails it, once, without a second ledger entry or webhook."""

from __future__ import annotations

from audit.models import LedgerEntry
from orchestrator.cost_alerts import alerts_deliver
from orchestrator.models import CostAlert, CostSettings
from orchestrator.services import run_start
from tests.fakes.mail import SMTPServer, free_port


def test_an_alert_s_email_waits_for_the_mail_server_and_goes_once(priced, advance, make_budget, settings,
                                                                    webhook_server, client_for, admin_user):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 5
    CostSettings.objects.filter(pk=1).update(alert_emails="finops@example.com", alert_webhook_url=webhook_server.url)
    make_budget("Probe cap", cap="0.0005", thresholds=[10])

    advance(run_start(workflow="cost_probe", input={"calls": 1}))  # crosses 10% mid-run

    alert = CostAlert.objects.get(kind="threshold")
    assert [body["alert"] for body in webhook_server.bodies] == [alert.pk]
    page = client_for(admin_user).get("/costs/").content.decode()
    assert "E-mail waiting: not sent: the mail server could not be reached" in page
    assert "Webhook sent" in page

    with SMTPServer() as server:
        settings.EMAIL_PORT = server.port
        assert alerts_deliver() == 1
        assert alerts_deliver() == 0

    [message] = server.accepted
    assert message["To"] == "finops@example.com" and "Probe cap" in message["Subject"]
    assert LedgerEntry.objects.filter(chain="system", kind="cost_alert_threshold").count() == 1
    assert len(webhook_server.requests) == 1
    assert "E-mail sent" in client_for(admin_user).get("/costs/").content.decode()
