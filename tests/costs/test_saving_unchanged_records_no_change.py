"""Saving a budget or a price as it was records nothing: a cap typed "5" over the stored 5.000000 was
recorded in the ledger as "cap from 5.000000 to 5", a change nobody made (and revoked every running
job's hold). A real change is recorded with its amounts written alike."""

from __future__ import annotations

from django.urls import reverse

from audit.models import LedgerEntry
from orchestrator.models import Budget, ModelPrice
from orchestrator.state import loads

FORM = {"name": "Legal", "scope": "label", "label": "department=legal", "period": "monthly",
        "soft_thresholds": "80", "active": "on"}


def test_a_budget_saved_as_it_was_records_nothing(client_for, admin_user):
    client = client_for(admin_user)
    assert client.post(reverse("audit:budget_new"), {**FORM, "cap": "5"}).status_code == 302
    budget = Budget.objects.get(name="Legal")
    edit = reverse("audit:budget_edit", args=[budget.pk])

    for typed in ("5", "5.00", "5.000000"):
        assert client.post(edit, {**FORM, "cap": typed, "version": budget.version}).status_code == 302
    assert not LedgerEntry.objects.filter(kind="budget_changed").exists()

    assert client.post(edit, {**FORM, "cap": "5.5", "version": budget.version}).status_code == 302
    entry = LedgerEntry.objects.get(kind="budget_changed")
    assert loads(entry.payload)["changes"] == {"cap": {"from": "5.000000", "to": "5.500000"}}


def test_a_price_saved_as_it_was_records_nothing(client_for, admin_user):
    client = client_for(admin_user)
    form = {"pattern": "my-vllm-model", "input_per_mtok": "0.2", "output_per_mtok": "0.6",
            "cached_input_per_mtok": "0.1", "effective_from": "2024-01-01", "note": ""}
    assert client.post(reverse("audit:price_new"), form).status_code == 302
    price = ModelPrice.objects.get(pattern="my-vllm-model")
    assert LedgerEntry.objects.filter(kind="price_changed").count() == 1

    assert client.post(reverse("audit:price_edit", args=[price.pk]), {**form, "input_per_mtok": "0.20"}).status_code == 302
    assert LedgerEntry.objects.filter(kind="price_changed").count() == 1
