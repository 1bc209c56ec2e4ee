"""URLs of the ledger pages (included by audit/urls.py)."""

from __future__ import annotations

from django.urls import path

from audit.views import ledger

urlpatterns = [
    path("audit/", ledger.ledger, name="ledger"),
]
