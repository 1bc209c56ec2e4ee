"""Two admins open the edit form of one budget; both change it and save. The second save used to
overwrite the first without a word: the first admin's new cap was gone, and neither knew. A save now
applies only to the budget as the form showed it: the second admin gets the form back, told who changed
the budget, when, and to what, with their own values kept, and saving again overwrites on purpose.
(A cap raise from a budget stop is not a form edit: two raises still never lower a cap,
test_two_admins_raising_one_cap_at_once_never_lower_it.)"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from audit.models import LedgerEntry
from orchestrator.cost_admin import BudgetChangedMeanwhile, BudgetInput, budget_update
from orchestrator.models import Budget
from tests.interleave import started_while_held

FORM = {"name": "Legal", "scope": "label", "label": "department=legal", "period": "monthly",
        "soft_thresholds": "80", "active": "on"}


def _form_version(html: str) -> str:
    (tag,) = re.findall(r'<input[^>]*name="version"[^>]*>', html)
    return re.search(r'value="([^"]*)"', tag).group(1)


def _value(html: str, name: str) -> str:
    (tag,) = re.findall(rf'<input[^>]*name="{name}"[^>]*>', html)
    return re.search(r'value="([^"]*)"', tag).group(1)


@pytest.fixture
def legal(db) -> Budget:
    return Budget.objects.create(name="Legal", scope="label", match="department=legal", period="monthly",
                                 cap=Decimal("100"), soft_thresholds=[80])


def test_the_second_save_is_refused_naming_who_changed_what_and_keeps_what_was_typed(
        legal, client_for, admin_user, make_user):
    ada = make_user("ada", "admin", first_name="Ada", last_name="Lovelace")
    url = reverse("audit:budget_edit", args=[legal.pk])
    mine, theirs = client_for(admin_user), client_for(ada)
    my_version = _form_version(mine.get(url).content.decode())
    their_version = _form_version(theirs.get(url).content.decode())

    assert theirs.post(url, {**FORM, "cap": "150", "soft_thresholds": "50, 80",
                             "version": their_version}).status_code == 302
    refused = mine.post(url, {**FORM, "cap": "120", "version": my_version})

    page = refused.content.decode()
    assert refused.status_code == 409
    legal.refresh_from_db()
    assert (legal.cap, legal.soft_thresholds) == (Decimal("150"), [50, 80]), "their change stands"
    assert re.search(r"Someone else \(Ada Lovelace, ada\) changed this budget at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC",
                     page), page
    assert "their values: cap $150.00, soft thresholds 50, 80" in page
    assert "Your values are kept below; save again to overwrite theirs." in page
    assert _value(page, "cap") == "120", "what I typed is still in the form"
    assert [e.actor for e in LedgerEntry.objects.filter(kind="budget_changed")] == ["ada"]

    # Saving again is deliberate: it overwrites theirs.
    again = mine.post(url, {**FORM, "cap": "120", "version": _form_version(page)})
    assert again.status_code == 302
    legal.refresh_from_db()
    assert (legal.cap, legal.soft_thresholds) == (Decimal("120"), [80])


def test_a_save_matching_what_someone_else_saved_meanwhile_goes_through(legal, client_for, admin_user, make_user):
    url = reverse("audit:budget_edit", args=[legal.pk])
    mine, theirs = client_for(admin_user), client_for(make_user("ada", "admin"))
    version = _form_version(mine.get(url).content.decode())
    assert theirs.post(url, {**FORM, "cap": "150", "version": version}).status_code == 302

    assert mine.post(url, {**FORM, "cap": "150", "version": version}).status_code == 302, "nothing to overwrite"
    assert LedgerEntry.objects.filter(kind="budget_changed").count() == 1


def test_a_form_that_does_not_say_which_version_it_edits_is_refused(legal, client_for, admin_user):
    response = client_for(admin_user).post(reverse("audit:budget_edit", args=[legal.pk]), {**FORM, "cap": "120"})

    assert response.status_code == 200
    assert "Reload the page and make your change again" in response.content.decode()
    legal.refresh_from_db()
    assert legal.cap == Decimal("100")


def test_a_save_that_waited_for_another_admin_s_save_is_refused(transactional_db, legal, admin_user, make_user, wait_for):
    ada = make_user("ada", "admin")
    opened_at = Budget.objects.get(pk=legal.pk).version  # both forms were opened on this version

    def save(actor, cap: str):
        return budget_update(budget=legal, actor=actor, version=opened_at, data=BudgetInput(
            name="Legal", scope="label", match="department=legal", period="monthly", cap=Decimal(cap),
            soft_thresholds=[80]))

    with pytest.raises(BudgetChangedMeanwhile) as refused:
        started_while_held(lambda: save(ada, "150"), lambda: save(admin_user, "120"), wait_for,
                           what="the second save to wait for the first on the budget's row")

    assert refused.value.budget.cap == Decimal("150")
    assert Budget.objects.get(pk=legal.pk).cap == Decimal("150")
