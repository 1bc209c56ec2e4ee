from django.apps import AppConfig


class OrchestratorConfig(AppConfig):
    name = "orchestrator"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from orchestrator import budgets, cost_alerts, deliveries, reconciler, spend_rollup

        # Free the budget holds of crashed or cancelled calls; send cost alerts a worker could not; give
        # up e-mails whose sender died mid-message; delete old sent and failed notifications; roll up
        # the spend of days no open transaction can still add to (the cost pages read those sums).
        for extra in (budgets.budgets_release_expired, cost_alerts.alerts_deliver, deliveries.deliveries_fail_lapsed,
                      deliveries.deliveries_prune, spend_rollup.spend_rollup):
            if extra not in reconciler.EXTRA_PASSES:
                reconciler.EXTRA_PASSES.append(extra)
        # Where a cost-alert webhook goes, read when it is sent: a retry follows a changed setting.
        deliveries.WEBHOOK_URLS[cost_alerts.SOURCE] = cost_alerts.alert_webhook_url
