from __future__ import annotations

from django.urls import path

from review import views

app_name = "review"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("count/", views.inbox_badge, name="count"),
    path("bulk/", views.inbox_bulk, name="bulk"),
    path("<int:pk>/", views.item_detail, name="item"),
    path("<int:pk>/status/", views.item_status, name="status"),
    path("<int:pk>/claim/", views.item_claim_view, name="claim"),
    path("<int:pk>/release/", views.item_release_view, name="release"),
    path("<int:pk>/decide/", views.item_decide, name="decide"),
]
