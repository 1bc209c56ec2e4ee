"""URLs of the costs pages (included by audit/urls.py)."""

from __future__ import annotations

from django.urls import path

from audit.views import costs

urlpatterns = [
    path("costs/", costs.costs, name="costs"),
]
