"""Raising a stopped run's cap to less than its call needs is refused, as the page's "at least …" says:
it was accepted, resumed the run, and the run stopped again at the same call with a new stop to decide."""

from __future__ import annotations

from decimal import Decimal

from audit.models import LedgerEntry
from orchestrator.budgets import money
from orchestrator.cost_admin import budget_item_facts, budget_item_needed
from review.models import ReviewItem
from tests.costs.test_budget_exceeded_suspends_the_run import _start


def test_a_raise_below_what_the_call_needs_changes_nothing(priced, advance, make_budget, admin_user, client_for):
    budget = make_budget(cap="0.0004")  # stops the probe run at its second call
    run = _start()
    assert advance(run) == "suspended"
    item = ReviewItem.objects.get(run=run, status="pending")
    needed = budget_item_needed(budget_item_facts(item))
    short = ((budget.cap + needed) / 2).quantize(Decimal("0.000001"))
    assert budget.cap + Decimal("0.00001") < short < needed - Decimal("0.00001")
    client = client_for(admin_user)

    response = client.post(f"/costs/budgets/stops/{item.pk}/resume/", {"cap": str(short)})

    assert response.status_code == 400
    message = (f"A cap of {money(short)} is still below the {money(needed)} this call needs: give at least that, "
               "or end the run.")
    assert message in response.content.decode()
    budget.refresh_from_db()
    assert budget.cap == Decimal("0.0004") and not LedgerEntry.objects.filter(kind="budget_changed").exists()
    assert ReviewItem.objects.get(pk=item.pk).status == "pending"

    response = client.post(f"/costs/budgets/stops/{item.pk}/resume/", {"cap": str(needed)})
    assert response.status_code == 302
    assert ReviewItem.objects.get(pk=item.pk).status != "pending"
    budget.refresh_from_db()
    assert budget.cap == needed
