"""A double click on Save (or a resend) of the New budget / New price form gets what the first send
got: one budget or price, one ledger entry, and the "saved" answer, not "this name is taken" for the
very budget it just made. Another admin's budget of that name, or different values, is still refused."""

from __future__ import annotations

from django.urls import reverse

from audit.models import LedgerEntry
from orchestrator.models import Budget, ModelPrice

BUDGET = {"name": "Legal", "scope": "label", "label": "department=legal", "period": "monthly", "cap": "5",
          "soft_thresholds": "80, 50", "active": "on"}
PRICE = {"pattern": "my-vllm-model", "input_per_mtok": "0.2", "output_per_mtok": "10",
         "cached_input_per_mtok": "0.075", "effective_from": "2024-01-01", "note": "self-hosted"}


def _entries(kind: str) -> int:
    return LedgerEntry.objects.filter(chain="system", kind=kind).count()


def test_a_new_budget_sent_twice_is_one_budget(client_for, admin_user):
    client = client_for(admin_user)

    first, second = (client.post(reverse("audit:budget_new"), BUDGET) for _ in range(2))

    assert first.status_code == second.status_code == 302
    assert second["Location"] == reverse("audit:budgets")
    assert Budget.objects.filter(name="Legal").count() == 1 and _entries("budget_created") == 1
    page = client.get(second["Location"]).content.decode()
    assert "Budget “Legal” saved: cap $5" in page


def test_the_same_name_with_other_values_is_still_refused(client_for, admin_user):
    client = client_for(admin_user)
    client.post(reverse("audit:budget_new"), BUDGET)

    response = client.post(reverse("audit:budget_new"), {**BUDGET, "cap": "6"})

    assert response.status_code == 200 and "This name is taken." in response.content.decode()
    assert Budget.objects.get(name="Legal").cap == 5


def test_another_admin_s_budget_of_that_name_is_still_refused(client_for, admin_user, make_user):
    client_for(admin_user).post(reverse("audit:budget_new"), BUDGET)
    other = make_user("admin2", "admin")

    response = client_for(other).post(reverse("audit:budget_new"), BUDGET)

    assert response.status_code == 200 and "This name is taken." in response.content.decode()


def test_a_new_price_sent_twice_is_one_price(client_for, admin_user):
    client = client_for(admin_user)

    first, second = (client.post(reverse("audit:price_new"), PRICE) for _ in range(2))

    assert first.status_code == second.status_code == 302
    assert ModelPrice.objects.filter(pattern="my-vllm-model").count() == 1 and _entries("price_changed") == 1


def test_a_price_for_a_taken_date_with_other_amounts_is_still_refused(client_for, admin_user):
    client = client_for(admin_user)
    client.post(reverse("audit:price_new"), PRICE)

    response = client.post(reverse("audit:price_new"), {**PRICE, "output_per_mtok": "12"})

    assert response.status_code == 200 and "already has a price from 2024-01-01" in response.content.decode()
