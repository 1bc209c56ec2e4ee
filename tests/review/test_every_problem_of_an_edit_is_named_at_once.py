"""An edit with several problems is refused naming every one of them by its key path, where a misspelt
key in one item of a list of objects (`contacts[1].emial`) was named only when it was the edit's
only problem: beside another field's refused value, or a quoted number, it went unnamed, and the
reviewer who fixed what was named was refused again for it (or, had the schema taken the rest, the
run would have gone on without the e-mail address typed). The page marks each field at fault with
all of its problems; nothing is decided."""

from __future__ import annotations

import html as html_lib
import json
import re

import pytest

from audit.models import LedgerEntry
from orchestrator.services import RunError, run_start
from review.models import ReviewDecision, ReviewItem
from review.services import DecisionError, DecisionInput, review_decide

CONTACTS = [{"name": "Ana", "email": "ana@example.com"}, {"name": "Bo", "emial": "bo@example.com"}]
MISSPELT = "contacts[1].emial: is not a field the workflow knows; remove it (contacts[1] has name, email)"


def _refused(item: ReviewItem, actor, edits: dict) -> DecisionError:
    with pytest.raises(DecisionError) as refused:
        review_decide(item=item, actor=actor, decision=DecisionInput("edit", edits=edits))
    item.refresh_from_db()
    assert item.status == "pending" and not ReviewDecision.objects.filter(item=item).exists()
    assert not LedgerEntry.objects.filter(chain=item.run.thread_id, kind="decision").exists()
    return refused.value


def test_alone_it_is_named(dispatch_item, reviewer_user):
    refused = _refused(dispatch_item(), reviewer_user, {"contacts": CONTACTS})

    assert MISSPELT in str(refused)
    assert refused.field_errors == {"contacts": "is not a field the workflow knows; remove it (contacts[1] has name, "
                                                "email) (at contacts[1].emial)"}


def test_beside_another_field_s_refused_value_both_are_named(dispatch_item, reviewer_user):
    refused = _refused(dispatch_item(), reviewer_user, {"contacts": CONTACTS, "attempts": 0})

    assert str(refused) == (f"the edit was not accepted: {MISSPELT}; attempts: must be at least 1. Correct the value; "
                            "spell each key as one of the fields named, or remove it; then try again; nothing was "
                            "changed.")
    assert set(refused.field_errors) == {"contacts", "attempts"}


def test_beside_a_quoted_number_both_are_named(dispatch_item, reviewer_user):
    refused = _refused(dispatch_item(), reviewer_user, {"contacts": CONTACTS, "attempts": "3"})

    assert MISSPELT in str(refused)
    assert "attempts: must be a whole number without quotes, not '3'" in str(refused)
    assert "no quotes around a number" in str(refused) and "spell each key" in str(refused)


def test_beside_a_refused_value_in_another_item_of_the_same_list_both_are_named(dispatch_item, reviewer_user):
    contacts = [{"name": 7, "email": "ana@example.com"}, {"name": "Bo", "emial": "bo@example.com"},
                {"nmae": "Cy"}]

    refused = _refused(dispatch_item(), reviewer_user, {"contacts": contacts})

    for problem in ("contacts: must be text, not 7 (at contacts[0].name)", MISSPELT,
                    "contacts: is required (at contacts[2].name)",
                    "contacts[2].nmae: is not a field the workflow knows; remove it (contacts[2] has name, email)"):
        assert problem in str(refused)
    assert refused.field_errors["contacts"].count(";") >= 3  # the field shows all four, not just the first


def test_a_quoted_number_beside_another_refused_value_is_named_too(dispatch_item, reviewer_user):
    refused = _refused(dispatch_item(), reviewer_user, {"weight": 0, "attempts": "3"})

    assert refused.field_errors == {"weight": "must be more than 0",
                                    "attempts": "must be a whole number without quotes, not '3'"}


def test_the_page_marks_each_field_at_fault(dispatch_item, reviewer_user, client_for):
    item = dispatch_item()

    response = client_for(reviewer_user).post(f"/inbox/{item.pk}/decide/", {
        "decision": "edit", "arg-contacts": json.dumps(CONTACTS), "arg-attempts": "0"})

    page = html_lib.unescape(response.content.decode())
    assert response.status_code == 422
    assert MISSPELT in re.search(r'data-testid="decision-error">(.*?)</div>', page).group(1)
    assert "(at contacts[1].emial)" in re.search(r'data-testid="error-contacts">(.*?)</small>', page).group(1)
    assert re.search(r'data-testid="error-attempts">(.*?)</small>', page).group(1) == "Must be at least 1"


def test_run_input_names_a_misspelt_key_in_a_list_beside_another_problem(db, register_workflows):
    register_workflows("tests.review.graphs_dispatch")

    with pytest.raises(RunError) as refused:
        run_start(workflow="dispatch", input={"contacts": CONTACTS, "attempts": 0})

    assert "contacts[1].emial: is not a field the workflow knows" in str(refused.value)
    assert "attempts: must be at least 1" in str(refused.value)
