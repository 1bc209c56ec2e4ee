"""A budget's scope is checked against what exists: a workflow must be registered (a typo used to be
saved as a budget that guards nothing), and a label no run carries yet is saved with a warning that
names the values in use."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from audit.models import LedgerEntry
from orchestrator.cost_admin import BudgetInput, CostAdminError, budget_create
from orchestrator.models import Budget
from orchestrator.services import run_start

REGISTERED = ("cost_probe", "document_pipeline", "email_approval", "research_agent")


def _post(client, url, **fields):
    data = {"name": "Email cap", "scope": "workflow", "period": "monthly", "cap": "10", "soft_thresholds": "80",
            "active": "on", **fields}
    return client.post(url, data)


def test_the_service_refuses_an_unregistered_workflow_and_names_the_registered_ones(db, admin_user):
    data = BudgetInput(name="Email cap", scope="workflow", match="emial_approval", period="monthly",
                       cap=Decimal(10), soft_thresholds=[])
    with pytest.raises(CostAdminError) as refused:
        budget_create(data=data, actor=admin_user)
    message = refused.value.field_errors["match"]
    assert "“emial_approval”" in message
    assert "Choose one of: " + ", ".join(REGISTERED) + "." in message
    assert not Budget.objects.filter(name="Email cap").exists()
    assert not LedgerEntry.objects.filter(chain="system", kind="budget_created").exists()


def test_the_form_offers_the_registered_workflows_to_pick_from(client_for, admin_user):
    page = client_for(admin_user).get(reverse("audit:budget_new")).content.decode()
    assert '<select name="workflow"' in page
    for name in REGISTERED:
        assert f'<option value="{name}">{name}</option>' in page


def test_a_misspelt_workflow_posted_to_the_form_is_refused_on_its_field(client_for, admin_user):
    response = _post(client_for(admin_user), reverse("audit:budget_new"), workflow="emial_approval")
    page = response.content.decode()
    assert response.status_code == 200
    assert "No workflow is registered as “emial_approval”. Choose one of: cost_probe, document_pipeline" in page
    assert not Budget.objects.filter(name="Email cap").exists()


def test_a_registered_workflow_is_saved_without_a_warning(client_for, admin_user):
    client = client_for(admin_user)
    response = _post(client, reverse("audit:budget_new"), workflow="email_approval", label="ignored=for-this-scope")
    assert response.status_code == 302
    assert Budget.objects.get(name="Email cap").match == "email_approval"
    page = client.get(reverse("audit:budgets")).content.decode()
    assert "Budget “Email cap” saved" in page and "guards nothing" not in page


def test_a_budget_on_a_retired_workflow_can_still_be_edited_but_not_moved_to_another_unknown_one(
        client_for, admin_user):
    retired = Budget.objects.create(name="Old flow", scope="workflow", match="retired_flow", cap=Decimal(5))
    client = client_for(admin_user)
    url = reverse("audit:budget_edit", args=[retired.pk])
    assert "retired_flow (no longer registered)" in client.get(url).content.decode()
    kept = _post(client, url, name="Old flow", workflow="retired_flow", active="", version=retired.version)
    assert kept.status_code == 302
    retired.refresh_from_db()
    assert retired.active is False
    moved = _post(client, url, name="Old flow", workflow="other_retired_flow", version=retired.version)
    assert "No workflow is registered as “other_retired_flow”" in moved.content.decode()


def test_the_budgets_page_flags_a_budget_whose_workflow_is_not_registered(client_for, admin_user):
    Budget.objects.create(name="Saved before the check", scope="workflow", match="emial_approval", cap=Decimal(1))
    Budget.objects.create(name="Real", scope="workflow", match="email_approval", cap=Decimal(1))
    page = client_for(admin_user).get(reverse("audit:budgets")).content.decode()
    rows = {row.split('"')[0]: row for row in page.split('data-budget="')[1:]}
    assert "no such workflow: guards nothing" in rows["Saved before the check"]
    assert "no such workflow" not in rows["Real"]


def test_a_label_no_run_carries_is_saved_with_a_warning_naming_the_values_in_use(client_for, admin_user):
    run_start(workflow="research_agent", input={"question": "q"}, labels={"department": "legal"})
    run_start(workflow="research_agent", input={"question": "q"}, labels={"department": "sales"})
    client = client_for(admin_user)
    response = _post(client, reverse("audit:budget_new"), scope="label", label="department=legl")
    assert response.status_code == 302, "a warning, not a refusal: the label may belong to runs not started yet"
    assert Budget.objects.get(name="Email cap").match == "department=legl"
    page = client.get(reverse("audit:budgets")).content.decode()
    assert ("No run is labelled department=legl yet: this budget guards nothing until one is. "
            "Values of “department” on recent runs: legal, sales.") in page


def test_a_label_in_use_is_saved_without_a_warning_and_without_stray_spaces(client_for, admin_user):
    run_start(workflow="research_agent", input={"question": "q"}, labels={"customer": "acme"})
    client = client_for(admin_user)
    _post(client, reverse("audit:budget_new"), scope="label", label=" customer = acme ")
    assert Budget.objects.get(name="Email cap").match == "customer=acme", "as the budget functions compare labels"
    page = client.get(reverse("audit:budgets")).content.decode()
    assert "Budget “Email cap” saved" in page and "guards nothing" not in page


def test_the_form_suggests_the_labels_on_recent_runs(client_for, admin_user):
    run_start(workflow="research_agent", input={"question": "q"}, labels={"department": "legal", "customer": "acme"})
    page = client_for(admin_user).get(reverse("audit:budget_new")).content.decode()
    assert 'list="label-suggestions"' in page
    assert '<datalist id="label-suggestions"><option value="customer=acme"><option value="department=legal">' in page
