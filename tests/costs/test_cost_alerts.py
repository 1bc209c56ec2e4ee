"""Crossing a soft threshold alerts once per period (email, webhook, ledger entry); a node spending
far above its own recent norm raises an anomaly alert naming the run and the node."""

from __future__ import annotations

from django.core import mail

from audit.models import LedgerEntry
from orchestrator.models import CostAlert, CostSettings, Delivery, SpendEvent
from orchestrator.services import run_start
from orchestrator.state import loads


def _notify_to(webhook_server) -> None:
    CostSettings.objects.filter(pk=1).update(alert_emails="finops@example.com", alert_webhook_url=webhook_server.url)


def test_a_soft_threshold_alerts_once_per_period(priced, advance, make_budget, webhook_server, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    _notify_to(webhook_server)
    first = run_start(workflow="cost_probe", input={"calls": 2})
    advance(first)
    per_run = sum(SpendEvent.objects.filter(run=first).values_list("cost", flat=True))
    # 50% is crossed during the next run; the one after crosses nothing new in this period.
    budget = make_budget("Team monthly", cap=str(per_run * 3), period="monthly", thresholds=[50, 95])
    advance(run_start(workflow="cost_probe", input={"calls": 2}))
    advance(run_start(workflow="cost_probe", input={"calls": 2}))

    alerts = list(CostAlert.objects.filter(kind="threshold"))
    assert [(a.budget_id, a.threshold) for a in alerts] == [(budget.pk, 50)]
    assert alerts[0].delivered_at is not None and alerts[0].delivery_error == ""
    assert 'Budget "Team monthly" passed 50% of its cap' in alerts[0].message
    received = webhook_server.bodies
    assert [r["threshold"] for r in received] == [50] and received[0]["budget"] == "Team monthly"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["finops@example.com"]
    assert "Team monthly" in mail.outbox[0].subject
    entry = LedgerEntry.objects.get(chain="system", kind="cost_alert_threshold")
    assert loads(entry.payload)["threshold"] == 50


def test_a_node_far_above_its_norm_raises_an_alert_naming_run_and_node(priced, advance, webhook_server, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.GATEHOUSE_ANOMALY_CACHE_SECONDS = 0  # the norm is re-read at once, not a minute later
    _notify_to(webhook_server)
    CostSettings.objects.filter(pk=1).update(anomaly_k=3, anomaly_min_runs=5, anomaly_window=20)
    for _ in range(5):
        advance(run_start(workflow="cost_probe", input={"calls": 1, "max_tokens": 60}))
    assert not CostAlert.objects.exists(), "normal runs raise nothing"

    # A miscalibrated prompt: the same nodes now loop over many long calls.
    bad = run_start(workflow="cost_probe", input={"calls": 6, "max_tokens": 400})
    advance(bad)
    alerts = list(CostAlert.objects.filter(kind="anomaly"))
    assert {a.node for a in alerts} == {"draft", "polish"}, "caught on its first bad run, once per node"
    draft = next(a for a in alerts if a.node == "draft")
    assert draft.run_id == bad.pk
    assert bad.thread_id in draft.message and "Node draft" in draft.message
    received = webhook_server.bodies
    assert {(r["kind"], r["node"], r["run"]) for r in received} == {("anomaly", "draft", bad.thread_id),
                                                                   ("anomaly", "polish", bad.thread_id)}
    assert LedgerEntry.objects.filter(chain="system", kind="cost_alert_anomaly").count() == 2


def test_an_unreachable_webhook_is_recorded_for_a_retry_and_the_alert_still_mailed_once(priced, advance, make_budget, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    CostSettings.objects.filter(pk=1).update(alert_emails="finops@example.com",
                                             alert_webhook_url="http://127.0.0.1:9/unreachable")
    make_budget(cap="0.0005", thresholds=[10])
    advance(run_start(workflow="cost_probe", input={"calls": 1}))
    alert = CostAlert.objects.get(kind="threshold")
    webhook = Delivery.objects.get(source="cost_alert", ref=alert.pk, channel="webhook")
    assert (webhook.state, webhook.attempts) == ("pending", 1) and webhook.last_error.startswith("no answer")
    assert len(mail.outbox) == 1
