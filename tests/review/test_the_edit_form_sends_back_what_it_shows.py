"""What the edit form shows is what it sends back, and what it sends the schema takes: a field the
reviewer did not touch is not edited, whatever its type. It once was, or refused the edit:

  - a date was shown unquoted in a JSON box, so any edit of another field was refused as "not valid
    JSON" for the date; it is a date box now, and a date and time a text box, read back as the text;
  - an optional flag left at none was a checkbox that sent false, and optional text left at none sent
    empty text: both changed a field nobody touched. The flag is a choice of (none), true and false;
    emptied optional text is none;
  - an optional choice left at none had no option for it, so the browser sent the first choice.

Each case is submitted as a browser submits the page (tests.review.form_data)."""

from __future__ import annotations

import html as html_lib
import re

from django.http import QueryDict
from pydantic import BaseModel

from review.edit_form import edit_fields, parse_edits
from review.models import ReviewItem
from tests.review.form_data import form_as_sent

FILLED = {"retries": 1, "confirmed": True, "weight": 0.25, "price": "12.50", "ship_on": "2025-03-04",
          "pickup_at": "2025-03-04T09:30:00Z", "note": "Fragile.", "attempts": 2}


def _page(client, item: ReviewItem) -> str:
    return client.get(f"/inbox/{item.pk}/").content.decode()


def test_an_untouched_form_changes_nothing(dispatch_item, reviewer_user, client_for):
    for fields in ({}, FILLED):  # optional fields at none, and each field holding a value
        item = dispatch_item(**fields)
        client = client_for(reviewer_user)
        sent = form_as_sent(_page(client, item))

        refused = client.post(f"/inbox/{item.pk}/decide/", {"decision": "edit", **sent})
        page = html_lib.unescape(refused.content.decode())
        assert refused.status_code == 422
        assert "you changed nothing" in page.lower() and 'data-testid="error-' not in page

        client.post(f"/inbox/{item.pk}/decide/", {"decision": "approve", **sent})
        item.refresh_from_db()
        assert (item.status, item.decision, item.edits) == ("decided", "approve", None)


def test_editing_one_field_edits_only_that_field(dispatch_item, reviewer_user, client_for):
    for fields in ({}, FILLED):
        item = dispatch_item(**fields)
        client = client_for(reviewer_user)
        sent = form_as_sent(_page(client, item))

        client.post(f"/inbox/{item.pk}/decide/", {"decision": "edit", **sent, "arg-attempts": ["3"]})

        item.refresh_from_db()
        assert item.edits == {"attempts": 3}


def test_a_date_is_a_date_box_and_a_date_and_time_a_text_box(dispatch_item, reviewer_user, client_for):
    item = dispatch_item(pickup_at="2025-03-04T09:30:00Z")
    client = client_for(reviewer_user)
    page = _page(client, item)

    assert re.search(r'<input type="date" id="arg-ship_on" [^>]*value="2025-03-01"', page)
    assert re.search(r'<input type="text" id="arg-pickup_at" [^>]*value="2025-03-04T09:30:00Z"', page)
    client.post(f"/inbox/{item.pk}/decide/", {"decision": "edit", **form_as_sent(page), "arg-ship_on": ["2025-04-02"],
                                              "arg-pickup_at": ["2025-04-02T10:00:00+02:00"]})
    item.refresh_from_db()
    assert item.edits == {"ship_on": "2025-04-02", "pickup_at": "2025-04-02T10:00:00+02:00"}


def test_a_date_and_time_that_is_none_is_refused_by_name_and_kept(dispatch_item, reviewer_user, client_for):
    item = dispatch_item()
    client = client_for(reviewer_user)

    response = client.post(f"/inbox/{item.pk}/decide/", {"decision": "edit", **form_as_sent(_page(client, item)),
                                                         "arg-pickup_at": ["tomorrow at nine"]})

    page = html_lib.unescape(response.content.decode())
    assert response.status_code == 422
    assert re.search(r'data-testid="error-pickup_at">(.*?)</small>', page).group(1) == \
        "Must be a date and time like 2025-01-31T09:30:00Z, not 'tomorrow at nine'"
    assert 'id="arg-pickup_at" name="arg-pickup_at" form="decide-form" value="tomorrow at nine"' in page


def test_an_optional_flag_offers_none_true_and_false(dispatch_item, reviewer_user, client_for):
    item = dispatch_item()
    client = client_for(reviewer_user)
    page = _page(client, item)

    select = re.search(r'<select id="arg-confirmed".*?</select>', page, re.S).group(0)
    assert re.findall(r'<option value="([^"]*)"( selected)?>(.*?)</option>', select) == [
        ("null", " selected", "(none)"), ("true", "", "true"), ("false", "", "false")]
    client.post(f"/inbox/{item.pk}/decide/", {"decision": "edit", **form_as_sent(page), "arg-confirmed": ["false"]})
    item.refresh_from_db()
    assert item.edits == {"confirmed": False}


def test_emptied_optional_text_is_none(dispatch_item, reviewer_user, client_for):
    item = dispatch_item(note="Fragile.")
    client = client_for(reviewer_user)

    client.post(f"/inbox/{item.pk}/decide/", {"decision": "edit", **form_as_sent(_page(client, item)),
                                              "arg-note": [""]})

    item.refresh_from_db()
    assert item.edits == {"note": None}


def test_a_decimal_and_a_fraction_are_taken_as_typed(dispatch_item, reviewer_user, client_for):
    item = dispatch_item()
    client = client_for(reviewer_user)

    client.post(f"/inbox/{item.pk}/decide/", {"decision": "edit", **form_as_sent(_page(client, item)),
                                              "arg-price": ["12.5"], "arg-weight": ["0.75"]})

    item.refresh_from_db()
    assert item.edits == {"price": "12.5", "weight": 0.75}


class Parcel(BaseModel):
    ref: int | str
    labels: list[str] = []


def test_text_in_a_json_box_is_shown_in_quotes_and_reads_back_as_text():
    args = {"ref": "A-7", "labels": ["fragile"]}
    rows = {row.name: row for row in edit_fields(Parcel, args)}
    assert (rows["ref"].widget, rows["ref"].text) == ("json", '"A-7"')

    edits, errors = parse_edits(Parcel, args, QueryDict(f"arg-ref={rows['ref'].text}&arg-labels=%5B%5D"))

    assert (edits, errors) == ({"ref": "A-7", "labels": []}, {})
    shown = {row.name: row for row in edit_fields(Parcel, args, submitted=edits)}
    assert not shown["ref"].changed and shown["labels"].changed


class Switches(BaseModel):
    flags: list[bool]


def test_a_json_box_changed_from_true_to_1_is_changed():
    # Python's == takes 1 for True; a plain Approve would then carry out the proposal and drop the change.
    (row,) = edit_fields(Switches, {"flags": [True, False]}, submitted={"flags": [1, 0]})
    assert row.changed
    (row,) = edit_fields(Switches, {"flags": [True, False]}, submitted={"flags": [True, False]})
    assert not row.changed
