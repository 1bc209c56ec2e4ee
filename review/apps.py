from __future__ import annotations

from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "review"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from orchestrator import reconciler
        from review.expiry import items_expire
        from review.notifications import items_notify

        # Expire before notifying, so an item escalated in this pass is mailed to its new group at once.
        for extra in (items_expire, items_notify):
            if extra not in reconciler.EXTRA_PASSES:
                reconciler.EXTRA_PASSES.append(extra)
