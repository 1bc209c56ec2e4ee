from __future__ import annotations

from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "review"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from orchestrator import deliveries, executor, reconciler
        from review.expiry import items_expire
        from review.notifications import SOURCE, items_notify, review_webhook_url

        # Expire before notifying, so an item escalated in this pass is mailed to its new group at once.
        for extra in (items_expire, items_notify):
            if extra not in reconciler.EXTRA_PASSES:
                reconciler.EXTRA_PASSES.append(extra)
        # A worker that just suspended a run notifies at once; the reconciler pass is the safety net.
        hook = _notify_after_suspend
        if hook not in executor.AFTER_SUSPEND:
            executor.AFTER_SUSPEND.append(hook)
        # Where a review webhook goes, read when it is sent: a retry follows a changed setting.
        deliveries.WEBHOOK_URLS[SOURCE] = review_webhook_url


def _notify_after_suspend(run_id: int) -> None:
    from review.notifications import items_notify_new

    items_notify_new()
