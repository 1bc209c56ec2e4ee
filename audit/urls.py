from __future__ import annotations

from django.urls import path

from audit import views

app_name = "audit"

urlpatterns = [
    path("runs/", views.runs, name="runs"),
    path("audit/", views.ledger, name="ledger"),
    path("costs/", views.costs, name="costs"),
]
