"""The admin's view of the notification outbox (Deliveries): where an operator finds a webhook that
was given up or an e-mail that did not go, and why, and sends a webhook again once its receiver is
fixed. Read-only otherwise: the rows are the record of what was sent."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from orchestrator.deliveries import deliveries_retry
from orchestrator.models import Delivery


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "source", "ref", "channel", "state", "attempts", "next_attempt_at", "last_error")
    list_filter = ("state", "channel", "source")
    ordering = ("-id",)
    actions = ("send_again",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Delivery | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Delivery | None = None) -> bool:
        return False

    def has_send_again_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    @admin.action(description="Send the selected webhooks again (e-mails are never sent twice)",
                  permissions=["send_again"])
    def send_again(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        count = deliveries_retry(ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} webhook(s) will be sent again on the next pass; the others were "
                                   "e-mails, already sent, or still being tried.",
                          messages.SUCCESS if count else messages.WARNING)
