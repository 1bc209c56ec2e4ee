"""Editing a budget or a price shows its amounts as someone types them ("5", "0.2"), not as the database
keeps them ("5.000000", "0.200000"), and saving the form unchanged keeps them."""

from __future__ import annotations

import re

from django.urls import reverse

from orchestrator.models import Budget, ModelPrice


def value_of(html: str, name: str) -> str:
    (tag,) = re.findall(rf'<input[^>]*name="{name}"[^>]*>', html)
    return re.search(r'value="([^"]*)"', tag).group(1)


def test_a_budget_s_cap_reads_as_typed(client_for, admin_user):
    client = client_for(admin_user)
    form = {"name": "Legal", "scope": "label", "label": "department=legal", "period": "monthly",
            "soft_thresholds": "80", "active": "on"}
    for typed, shown in (("5", "5"), ("2.50", "2.5"), ("0.0003", "0.0003"), ("0", "0"), ("120", "120")):
        Budget.objects.filter(name="Legal").delete()
        assert client.post(reverse("audit:budget_new"), {**form, "cap": typed}).status_code == 302
        budget = Budget.objects.get(name="Legal")
        page = client.get(reverse("audit:budget_edit", args=[budget.pk])).content.decode()
        assert value_of(page, "cap") == shown


def test_a_price_s_amounts_read_as_typed(client_for, admin_user):
    client = client_for(admin_user)
    form = {"pattern": "my-vllm-model", "input_per_mtok": "0.2", "output_per_mtok": "10",
            "cached_input_per_mtok": "0.075", "effective_from": "2024-01-01", "note": ""}
    assert client.post(reverse("audit:price_new"), form).status_code == 302
    price = ModelPrice.objects.get(pattern="my-vllm-model")
    page = client.get(reverse("audit:price_edit", args=[price.pk])).content.decode()
    assert [value_of(page, f) for f in ("input_per_mtok", "output_per_mtok", "cached_input_per_mtok")] == [
        "0.2", "10", "0.075"]
