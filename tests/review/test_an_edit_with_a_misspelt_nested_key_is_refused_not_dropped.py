"""A reviewer's "edit then approve" with a misspelt key inside an object ({"email": {"bdy": …}})
is refused naming the key path, on the item page, the API and `runs resume`, where the schema once
dropped the key without a word and the run sent the old subject. Nothing is decided, and the page
shows back what was typed. A model that takes other keys on purpose (extra="allow") still does."""

from __future__ import annotations

import html as html_lib
import json
import re

import pytest
from django.core.management import CommandError, call_command

from orchestrator.history import state_at
from review.models import ReviewItem
from review.services import DecisionError, DecisionInput, review_decide
from tests.review.fixtures import nothing_was_decided

MISSPELT = {"subject": "Q3 numbers", "bdy": "About Q3 numbers, revised.", "cc": ["cfo@example.com"]}
NAMED = "email.bdy: is not a field the workflow knows; remove it (email has subject, body, cc)"


def _nothing_was_decided(item: ReviewItem) -> None:
    nothing_was_decided(item)
    assert state_at(item.run_id, item.run.step)["email"]["body"] == "About Q3 numbers."


def test_the_service_refuses_it_naming_the_key_path(outreach_item, reviewer_user):
    item = outreach_item()

    with pytest.raises(DecisionError) as refused:
        review_decide(item=item, actor=reviewer_user, decision=DecisionInput("edit", edits={"email": MISSPELT}))

    assert NAMED in str(refused.value) and "nothing was changed" in str(refused.value)
    assert refused.value.field_errors["email"].endswith("(at email.bdy)")
    _nothing_was_decided(item)


def test_a_misspelt_key_beside_a_required_one_is_named_with_it(outreach_item, reviewer_user):
    item = outreach_item()

    with pytest.raises(DecisionError) as refused:
        review_decide(item=item, actor=reviewer_user, decision=DecisionInput(
            "edit", edits={"email": {"subjcet": "Q3 numbers (revised)"}}))

    assert "email: is required (at email.subject); email.subjcet: is not a field the workflow knows; remove it " \
           "(email has subject, body, cc)" in str(refused.value)
    _nothing_was_decided(item)


def test_the_page_refuses_it_and_shows_back_what_was_typed(outreach_item, reviewer_user, client_for):
    item = outreach_item()
    typed = json.dumps(MISSPELT, indent=2)

    response = client_for(reviewer_user).post(f"/inbox/{item.pk}/decide/", {"decision": "edit", "arg-email": typed})

    page = response.content.decode()
    assert response.status_code == 422
    assert html_lib.escape(NAMED) in page
    shown = re.search(r'<textarea id="arg-email" name="arg-email"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    assert json.loads(html_lib.unescape(shown)) == MISSPELT
    assert 'data-testid="error-email"' in page
    _nothing_was_decided(item)


def test_the_api_refuses_it_with_a_422_naming_the_field(outreach_item, reviewer_user, client_for):
    item = outreach_item()

    response = client_for(reviewer_user).post(f"/api/items/{item.pk}/decision", json.dumps(
        {"decision": "edit", "edits": {"email": MISSPELT}}), content_type="application/json")

    assert response.status_code == 422
    assert NAMED in response.json()["detail"]
    assert response.json()["fields"] == {"edits.email.bdy": NAMED.removeprefix("email.bdy: ")}
    _nothing_was_decided(item)


def test_runs_resume_refuses_it(outreach_item, reviewer_user):
    item = outreach_item()

    with pytest.raises(CommandError, match=re.escape(NAMED)):
        call_command("runs", "resume", item.run.thread_id, "--edit", json.dumps({"email": MISSPELT}),
                     "--actor", "reviewer")
    _nothing_was_decided(item)


def test_the_correctly_spelt_edit_goes_through(outreach_item, reviewer_user):
    item = outreach_item()

    review_decide(item=item, actor=reviewer_user, decision=DecisionInput(
        "edit", edits={"email": {"subject": "Q3 numbers (revised)", "body": "About Q3 numbers.", "cc": []}}))

    item.run.refresh_from_db()
    assert state_at(item.run_id, item.run.step)["email"]["subject"] == "Q3 numbers (revised)"


def test_a_model_that_takes_other_keys_keeps_them(outreach_item, reviewer_user):
    item = outreach_item()

    review_decide(item=item, actor=reviewer_user, decision=DecisionInput(
        "edit", edits={"tracking": {"campaign": "q3", "channel": "newsletter"}}))

    item.run.refresh_from_db()
    assert state_at(item.run_id, item.run.step)["tracking"] == {"campaign": "q3", "weekly": False,
                                                                 "channel": "newsletter"}
