"""A reviewer's edit is read as the JSON it was typed in: "yes" or "true" for a flag and "3" for a count
are refused naming the field, on the item page, the API and `runs resume`, where the schema once took
"yes" as true and the reviewer approved an action they had not meant. Nothing is decided, and the page
shows back what was typed. A date typed as ISO text is taken (JSON has no other way to write one), and
the form's number box, checkbox and date box send real numbers, flags and ISO dates."""

from __future__ import annotations

import html as html_lib
import json
import re

import pytest
from django.core.management import CommandError, call_command

from orchestrator.history import state_at
from review.services import DecisionError, DecisionInput, review_decide
from tests.review.fixtures import nothing_was_decided


@pytest.mark.parametrize(("edits", "field", "problem"), [
    ({"urgent": "yes"}, "urgent", "must be true or false without quotes, not 'yes'"),
    ({"urgent": "true"}, "urgent", "must be true or false without quotes, not 'true'"),
    ({"urgent": 1}, "urgent", "must be true or false, not 1"),
    ({"attempts": "3"}, "attempts", "must be a whole number without quotes, not '3'"),
    ({"tracking": {"weekly": "no"}}, "tracking", "must be true or false without quotes, not 'no' (at tracking.weekly)"),
])
def test_the_service_refuses_a_value_of_another_json_type(outreach_item, reviewer_user, edits, field, problem):
    item = outreach_item()

    with pytest.raises(DecisionError) as refused:
        review_decide(item=item, actor=reviewer_user, decision=DecisionInput("edit", edits=edits))

    assert refused.value.field_errors == {field: problem}
    assert f"{field}: {problem}" in str(refused.value) and "no quotes around a number" in str(refused.value)
    nothing_was_decided(item)


def test_a_date_typed_as_iso_text_and_true_numbers_are_taken(outreach_item, reviewer_user):
    item = outreach_item()

    decided = review_decide(item=item, actor=reviewer_user, decision=DecisionInput(
        "edit", edits={"send_on": "2025-02-14", "urgent": True, "attempts": 3}))

    assert decided.edits == {"send_on": "2025-02-14", "urgent": True, "attempts": 3}
    item.run.refresh_from_db()
    state = state_at(item.run_id, item.run.step)
    assert (state["send_on"], state["urgent"], state["attempts"]) == ("2025-02-14", True, 3)


def test_the_page_refuses_a_quoted_flag_and_shows_back_what_was_typed(outreach_item, reviewer_user, client_for):
    item = outreach_item()
    typed = '{"campaign": "q3", "weekly": "yes"}'

    response = client_for(reviewer_user).post(f"/inbox/{item.pk}/decide/", {
        "decision": "edit", "arg-tracking": typed, "arg-attempts": "2"})

    page = response.content.decode()
    assert response.status_code == 422
    assert html_lib.escape("tracking: must be true or false without quotes, not 'yes' (at tracking.weekly)") in page
    shown = re.search(r'<textarea id="arg-tracking" name="arg-tracking"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    assert json.loads(html_lib.unescape(shown)) == {"campaign": "q3", "weekly": "yes"}  # "yes" still there to fix
    assert 'id="arg-attempts" name="arg-attempts" form="decide-form" value="2"' in page
    nothing_was_decided(item)


def test_the_page_s_number_box_checkbox_and_date_go_through(outreach_item, reviewer_user, client_for):
    item = outreach_item()

    response = client_for(reviewer_user).post(f"/inbox/{item.pk}/decide/", {
        "decision": "edit", "arg-attempts": "4", "arg-urgent": ["0", "1"], "arg-send_on": "2025-02-14"})

    assert response.status_code == 302
    item.refresh_from_db()
    assert item.edits == {"attempts": 4, "urgent": True, "send_on": "2025-02-14"}


def test_the_api_refuses_it_with_a_422_naming_the_field(outreach_item, reviewer_user, client_for):
    item = outreach_item()

    response = client_for(reviewer_user).post(f"/api/items/{item.pk}/decision", json.dumps(
        {"decision": "edit", "edits": {"urgent": "yes"}}), content_type="application/json")

    assert response.status_code == 422
    assert response.json()["fields"] == {"edits.urgent": "must be true or false without quotes, not 'yes'"}
    nothing_was_decided(item)


def test_runs_resume_refuses_it(outreach_item, reviewer_user):
    item = outreach_item()

    with pytest.raises(CommandError, match=re.escape("attempts: must be a whole number without quotes, not '3'")):
        call_command("runs", "resume", item.run.thread_id, "--edit", '{"attempts": "3"}', "--actor", "reviewer")
    nothing_was_decided(item)
