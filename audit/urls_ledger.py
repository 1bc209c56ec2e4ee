"""URLs of the ledger pages (included by audit/urls.py)."""

from __future__ import annotations

from django.urls import path

from audit.views import ledger

urlpatterns = [
    path("audit/", ledger.ledger, name="ledger"),
    path("audit/verify/", ledger.ledger_verify_now, name="ledger_verify"),
    path("audit/export/", ledger.ledger_export, name="ledger_export"),
    path("audit/entries/<int:gseq>/proof/", ledger.ledger_proof, name="ledger_proof"),
    path("audit/decisions/", ledger.decisions, name="decisions"),
]
