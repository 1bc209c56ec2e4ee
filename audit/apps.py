from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from audit.sealing import SEAL_SOURCE, seal_webhook_url
        from orchestrator import deliveries

        # Where the outbox posts a seal's copy: the URL as configured when it is sent.
        deliveries.WEBHOOK_URLS[SEAL_SOURCE] = seal_webhook_url
