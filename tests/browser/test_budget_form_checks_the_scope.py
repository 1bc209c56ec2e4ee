"""The budget form in a browser: a workflow is picked from the registered ones (no field to misspell
it in), a label is typed with the labels in use suggested, and only the field the scope needs shows."""

from __future__ import annotations

from orchestrator.models import Budget
from orchestrator.services import run_start
from tests.costs.conftest import probe_workflow  # noqa: F401 - fixture


def test_an_admin_picks_a_workflow_and_is_warned_about_a_label_no_run_has(page, login_as, screenshot, admin_user):
    run_start(workflow="research_agent", input={"question": "q"}, labels={"customer": "acme"})
    login_as(page, admin_user)
    page.goto("/costs/budgets/new/")
    workflow, label = page.locator("#id_workflow"), page.locator("#id_label")
    assert not workflow.is_visible() and not label.is_visible(), "“Everything” needs neither"

    page.get_by_label("Name", exact=True).fill("Email approvals")
    page.locator("#id_scope").select_option("workflow")
    assert workflow.is_visible() and not label.is_visible()
    options = workflow.locator("option").all_inner_texts()
    assert options == ["— choose a workflow —", "cost_probe", "document_pipeline", "email_approval", "research_agent"]
    workflow.select_option("email_approval")
    page.get_by_label("Hard cap (USD)").fill("2")
    screenshot(page, "budget-form-workflow")
    page.get_by_role("button", name="Save budget").click()
    page.get_by_text("Budget “Email approvals” saved: cap $2.00.").wait_for()
    assert Budget.objects.get(name="Email approvals").match == "email_approval"

    page.goto("/costs/budgets/new/")
    page.get_by_label("Name", exact=True).fill("Acme")
    page.locator("#id_scope").select_option("label")
    assert label.is_visible() and not workflow.is_visible()
    assert page.locator("#label-suggestions option").evaluate_all("os => os.map(o => o.value)") == ["customer=acme"]
    label.fill("customer=acmee")
    page.get_by_label("Hard cap (USD)").fill("2")
    page.get_by_role("button", name="Save budget").click()
    page.get_by_text("No run is labelled customer=acmee yet: this budget guards nothing until one is. "
                     "Values of “customer” on recent runs: acme.").wait_for()
    screenshot(page, "budget-saved-with-a-label-warning")
