"""A choice box for a numeric Literal or an IntEnum sends the number chosen, not its text: the edit
form's options carry each choice as JSON, so picking 2 in `Literal[1, 2, 3]` edits the field to 2,
where the form once sent "2" and the edit (read as pydantic's strict JSON mode reads it) was refused,
so no reviewer could edit such a field. Text choices stay text, a Literal mixing both takes either,
an optional choice offers "(none)", and a value that is no choice is refused naming the choices, with
what was sent kept in view."""

from __future__ import annotations

import enum
import html as html_lib
import json
import re
from typing import Literal

from django.http import QueryDict
from pydantic import BaseModel

from orchestrator.executor import run_advance
from orchestrator.history import state_at
from orchestrator.models import Run
from review.edit_form import edit_fields, parse_edits
from tests.review.fixtures import nothing_was_decided
from tests.review.form_data import form_as_sent


def _options(page: str, name: str) -> list[tuple[str, str, bool]]:
    """(value attribute, label, selected) of the select `name`'s options, as the page shows them."""
    select = re.search(rf'<select id="arg-{name}".*?</select>', page, re.S).group(0)
    return [(html_lib.unescape(value), html_lib.unescape(label), bool(selected))
            for value, selected, label in re.findall(r'<option value="([^"]*)"( selected)?>(.*?)</option>', select)]


def test_each_choice_is_offered_as_its_json_value(dispatch_item, reviewer_user, client_for):
    item = dispatch_item(priority=2, tier=3, speed=1)

    page = client_for(reviewer_user).get(f"/inbox/{item.pk}/").content.decode()

    assert _options(page, "priority") == [("1", "1", False), ("2", "2", True), ("3", "3", False)]
    assert _options(page, "tier") == [("1", "BASIC (1)", False), ("2", "GOLD (2)", False), ("3", "PLATINUM (3)", True)]
    assert _options(page, "channel") == [('"email"', "email", True), ('"sms"', "sms", False)]
    assert _options(page, "speed") == [('"auto"', "auto", False), ("1", "1", True), ("2", "2", False)]


def test_a_number_picked_is_edited_as_that_number_and_the_run_goes_on_with_it(dispatch_item, reviewer_user,
                                                                              client_for):
    item = dispatch_item()
    client = client_for(reviewer_user)
    sent = form_as_sent(client.get(f"/inbox/{item.pk}/").content.decode())
    sent.update({"arg-priority": ["3"], "arg-tier": ["2"], "arg-speed": ["1"], "arg-channel": ['"sms"']})

    response = client.post(f"/inbox/{item.pk}/decide/", {"decision": "edit", **sent})

    assert response.status_code == 302, response.content.decode()
    item.refresh_from_db()
    assert item.edits == {"priority": 3, "tier": 2, "speed": 1, "channel": "sms"}
    assert run_advance(item.run_id, worker="test") == "completed"
    run = Run.objects.get(pk=item.run_id)
    state = state_at(run.pk, run.step)
    assert (state["priority"], state["tier"], state["speed"], state["channel"]) == (3, 2, 1, "sms")
    assert state["dispatched"] == "priority=3, tier=<Tier.GOLD: 2>, speed=1, retries=None"


def test_a_mixed_choice_takes_its_text_back_as_text(dispatch_item, reviewer_user, client_for):
    item = dispatch_item(speed=2)
    client = client_for(reviewer_user)
    sent = form_as_sent(client.get(f"/inbox/{item.pk}/").content.decode())

    client.post(f"/inbox/{item.pk}/decide/", {"decision": "edit", **sent, "arg-speed": ['"auto"']})

    item.refresh_from_db()
    assert item.edits == {"speed": "auto"}


def test_an_optional_choice_offers_none_and_a_required_one_does_not(dispatch_item, reviewer_user, client_for):
    item = dispatch_item(retries=2)
    client = client_for(reviewer_user)
    page = client.get(f"/inbox/{item.pk}/").content.decode()

    assert _options(page, "retries") == [("null", "(none)", False), ("1", "1", False), ("2", "2", True),
                                         ("3", "3", False)]
    assert ("null", "(none)", False) not in _options(page, "priority")
    client.post(f"/inbox/{item.pk}/decide/", {"decision": "edit", **form_as_sent(page), "arg-retries": ["null"]})
    item.refresh_from_db()
    assert item.edits == {"retries": None}


def test_an_optional_choice_left_at_none_stays_none(dispatch_item, reviewer_user, client_for):
    item = dispatch_item()  # retries: None
    client = client_for(reviewer_user)
    page = client.get(f"/inbox/{item.pk}/").content.decode()

    assert _options(page, "retries")[0] == ("null", "(none)", True)
    client.post(f"/inbox/{item.pk}/decide/", {"decision": "edit", **form_as_sent(page), "arg-priority": ["2"]})
    item.refresh_from_db()
    assert item.edits == {"priority": 2}


def test_a_value_that_is_no_choice_is_refused_naming_the_choices_and_kept(dispatch_item, reviewer_user, client_for):
    item = dispatch_item()
    client = client_for(reviewer_user)
    sent = form_as_sent(client.get(f"/inbox/{item.pk}/").content.decode())

    response = client.post(f"/inbox/{item.pk}/decide/", {"decision": "edit", **sent, "arg-priority": ["7"],
                                                          "arg-attempts": ["4"]})

    page = response.content.decode()
    assert response.status_code == 422
    error = html_lib.unescape(re.search(r'data-testid="error-priority">(.*?)</small>', page).group(1))
    assert error == "Must be one of 1, 2 or 3, not '7': choose one of those, or restore the original."
    assert _options(page, "priority")[-1] == ("7", "7", True)  # what was sent stays in view, chosen
    assert 'id="arg-attempts" name="arg-attempts" form="decide-form" value="4"' in page  # and the rest
    nothing_was_decided(item)


def test_a_page_from_before_options_carried_json_still_decides(dispatch_item, reviewer_user, client_for):
    # Such a page sent each option's label: "2" and "sms" name one choice each, so they are taken.
    item = dispatch_item()
    client = client_for(reviewer_user)
    sent = form_as_sent(client.get(f"/inbox/{item.pk}/").content.decode())

    client.post(f"/inbox/{item.pk}/decide/", {"decision": "edit", **sent, "arg-priority": ["2"],
                                              "arg-channel": ["sms"], "arg-speed": ["auto"]})

    item.refresh_from_db()
    assert item.edits == {"priority": 2, "channel": "sms"}


class Ticket(BaseModel):
    code: Literal["1", 1] = 1


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Paint(BaseModel):
    colour: Literal[Colour.RED, Colour.BLUE] = Colour.RED


def test_text_and_a_number_that_read_alike_are_two_labelled_choices():
    (row,) = edit_fields(Ticket, {"code": 1})
    assert row.options == [('"1"', '"1"', False), ("1", "1", True)]
    edits, errors = parse_edits(Ticket, {"code": 1}, QueryDict("arg-code=%221%22"))
    assert (edits, errors) == ({"code": "1"}, {})


def test_the_api_names_the_quotes_around_a_numeric_choice(dispatch_item, reviewer_user, client_for):
    item = dispatch_item()

    response = client_for(reviewer_user).post(f"/api/items/{item.pk}/decision", json.dumps(
        {"decision": "edit", "edits": {"priority": "2"}}), content_type="application/json")

    assert response.status_code == 422
    assert response.json()["fields"] == {"edits.priority": "must be one of 1, 2 or 3 without quotes, not '2'"}
    nothing_was_decided(item)



def test_a_literal_of_enum_members_offers_their_values():
    (row,) = edit_fields(Paint, {"colour": "red"})
    assert row.options == [('"red"', "red", True), ('"blue"', "blue", False)]
    edits, errors = parse_edits(Paint, {"colour": "red"}, QueryDict("arg-colour=%22blue%22"))
    assert (edits, errors) == ({"colour": "blue"}, {})
