"""In a real browser with a real worker: an admin lowers a cap, a run suspends as budget_exceeded,
the admin raises the cap from the stop's page and the run completes; the dashboard shows the spend."""

from __future__ import annotations

import re
from decimal import Decimal

from orchestrator.budgets import money
from orchestrator.models import Budget, Run, SpendEvent
from orchestrator.services import run_start
from tests.costs.conftest import make_budget, priced, probe_workflow  # noqa: F401 - fixtures


def test_an_admin_lowers_a_cap_the_run_stops_and_raising_it_resumes_the_run(
        page, login_as, screenshot, admin_user, priced, make_budget, start_worker, wait_for):  # noqa: F811
    budget = make_budget("Legal monthly", cap="1.00", scope="label", match="department=legal", period="monthly",
                         thresholds=[80])
    login_as(page, admin_user)

    # 1. Lower the cap below what a research run needs.
    page.goto("/costs/budgets/")
    page.get_by_role("row", name=re.compile("Legal monthly")).get_by_role("link", name="Edit").click()
    page.get_by_label("Hard cap (USD)").fill("0.0003")
    page.get_by_role("button", name="Save budget").click()
    page.get_by_text("Budget “Legal monthly” saved: cap $0.0003.").wait_for()
    assert Budget.objects.get(pk=budget.pk).cap == Decimal("0.0003")

    # 2. A run of the legal department stops before the call that would not fit.
    run = run_start(workflow="research_agent", input={"question": "What changed in the supplier contract?"},
                    labels={"department": "legal"})
    start_worker()
    wait_for(lambda: Run.objects.filter(pk=run.pk, status="suspended", suspended_reason="budget_exceeded").exists(),
             timeout=60, what="the run to stop on the budget")
    spent_before = sum(SpendEvent.objects.filter(run=run).values_list("cost", flat=True))
    assert spent_before <= Decimal("0.0003")

    # 3. The stop shows on the budgets page (live, via htmx polling); raise the cap from it.
    page.goto("/costs/budgets/")
    stop = page.get_by_test_id("budget-stop")
    stop.wait_for()
    assert run.thread_id in stop.inner_text()
    screenshot(page, "budgets-with-a-stop")
    stop.get_by_role("button", name="Decide").click()
    page.get_by_role("heading", name="Run stopped by budget “Legal monthly”").wait_for()
    screenshot(page, "budget-stop")
    page.get_by_label("New cap (USD)").fill("0.0001")
    page.get_by_role("button", name="Raise cap and resume").click()
    page.get_by_text("The new cap must be above the current $0.0003.").first.wait_for()
    page.get_by_label("New cap (USD)").fill("2.50")
    page.get_by_role("button", name="Raise cap and resume").click()
    page.get_by_text(f"Cap raised to $2.50; run {run.thread_id} resumed.").wait_for()

    wait_for(lambda: Run.objects.get(pk=run.pk).status == "completed", timeout=60, what="the run to complete")
    run.refresh_from_db()
    total = sum(SpendEvent.objects.filter(run=run).values_list("cost", flat=True))
    assert run.cost == total > spent_before

    # 4. The dashboard shows the spend and the run among the top runs.
    page.goto("/costs/?by=label&label_key=department")
    page.get_by_test_id("total-spend").wait_for()
    assert page.get_by_test_id("total-spend").inner_text() == money(total)
    page.locator("#chart-spend .main-svg").first.wait_for()
    assert page.get_by_role("link", name=run.thread_id).is_visible()
    screenshot(page, "costs-dashboard")
    page.goto("/costs/budgets/")
    assert page.get_by_test_id("budget-stop").count() == 0
    screenshot(page, "budgets")


def test_the_price_table_and_the_budget_form_read_clearly(page, login_as, screenshot, admin_user, priced):  # noqa: F811
    login_as(page, admin_user)
    page.goto("/costs/prices/")
    assert "Unpriced models are refused" in page.get_by_test_id("unpriced-policy").inner_text()
    page.get_by_role("cell", name="gpt-4o-mini*").wait_for()
    screenshot(page, "prices")
    page.goto("/costs/budgets/new/")
    page.get_by_label("Name", exact=True).fill("Legal")
    page.get_by_label("Scope").select_option("label")
    page.locator("#id_label").fill("legal")
    page.get_by_label("Hard cap (USD)").fill("100")
    page.get_by_role("button", name="Save budget").click()
    page.get_by_text("Write the label as key=value, e.g. department=legal.").wait_for()
    screenshot(page, "budget-form-error")
