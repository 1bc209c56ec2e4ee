"""A decision the item page refuses comes back with everything the reviewer had typed, whichever
button they pressed: the response, the reason and the edited arguments. Only what the chosen
decision uses is recorded."""

from __future__ import annotations

import html as html_lib
import re

import pytest

from review.models import ReviewItem
from tests.review.fixtures import email_item  # noqa: F401  (fixture)


def _textarea(page: str, name: str) -> str:
    text = html_lib.unescape(re.search(rf'<textarea id="{name}" name="{name}"[^>]*>(.*?)</textarea>', page,
                                       re.S).group(1))
    return text.removeprefix("\n")  # as a browser reads it: the newline right after the tag is not content


def test_a_reject_without_reason_keeps_the_response_and_the_edits(email_item, reviewer_user, client_for):  # noqa: F811
    item = email_item()
    response = client_for(reviewer_user).post(f"/inbox/{item.pk}/decide/", {
        "decision": "reject", "reason": "", "response": "Make it shorter and mention the date",
        "arg-to": "cfo@example.com", "arg-subject": "Q3 numbers, short version"})

    page = response.content.decode()
    assert response.status_code == 422
    assert "A rejection needs a reason" in page
    assert _textarea(page, "response") == "Make it shorter and mention the date"
    assert 'id="arg-subject" name="arg-subject" form="decide-form" value="Q3 numbers, short version"' in page
    assert '<details class="card edit-card" id="edit" open>' in page  # the edit is in view, marked changed
    assert page.count("edit-field changed") == 1
    assert ReviewItem.objects.get(pk=item.pk).status == "pending"


def test_a_respond_without_text_keeps_the_reason(email_item, reviewer_user, client_for):  # noqa: F811
    item = email_item()
    page = client_for(reviewer_user).post(f"/inbox/{item.pk}/decide/", {
        "decision": "respond", "reason": "Wrong recipient", "response": " "}).content.decode()

    assert "A response needs text" in page and _textarea(page, "reason") == "Wrong recipient"


def test_only_what_the_chosen_decision_uses_is_recorded(email_item, reviewer_user, client_for):  # noqa: F811
    item = email_item()
    client_for(reviewer_user).post(f"/inbox/{item.pk}/decide/", {
        "decision": "reject", "reason": "Wrong recipient", "response": "Make it shorter",
        "arg-subject": "Edited but rejected"})

    item.refresh_from_db()
    assert (item.decision, item.reason, item.response, item.edits) == ("reject", "Wrong recipient", "", None)


@pytest.mark.parametrize(("decision", "recorded"), [
    ("approve", ("approve", "", "", None)),
    ("respond", ("respond", "", "Make it shorter", None)),
])
def test_a_reason_left_from_a_refused_rejection_is_not_recorded_with_the_next_decision(
        email_item, reviewer_user, client_for, decision, recorded):  # noqa: F811
    item = email_item()
    client_for(reviewer_user).post(f"/inbox/{item.pk}/decide/", {
        "decision": decision, "reason": "Wrong recipient", "response": "Make it shorter"})

    item.refresh_from_db()
    assert (item.decision, item.reason, item.response, item.edits) == recorded


def test_a_bulk_approval_does_not_record_the_reason_left_in_its_box(
        email_item, reviewer_user, client_for):  # noqa: F811
    items = [email_item(), email_item()]
    client = client_for(reviewer_user)
    refused = client.post("/inbox/bulk/", {"ids": [], "decision": "reject", "reason": "Wrong recipient"})
    assert "Wrong recipient" in refused.content.decode()  # shown back in the box

    client.post("/inbox/bulk/", {"ids": [i.pk for i in items], "decision": "approve", "reason": "Wrong recipient"})

    for item in items:
        item.refresh_from_db()
        assert (item.decision, item.reason) == ("approve", "")


def test_every_decision_button_submits_the_one_form(email_item, reviewer_user, client_for):  # noqa: F811
    page = client_for(reviewer_user).get(f"/inbox/{email_item().pk}/").content.decode()

    for value in ("approve", "reject", "respond", "edit"):
        assert f'form="decide-form" name="decision" value="{value}"' in page
    for name in ("reason", "response", "arg-to", "arg-subject", "arg-body"):
        assert re.search(rf'name="{name}" form="decide-form"', page), name


def test_a_plain_approval_with_changed_arguments_is_refused_and_keeps_them(
        email_item, reviewer_user, client_for):  # noqa: F811
    item = email_item()
    client = client_for(reviewer_user)

    refused = client.post(f"/inbox/{item.pk}/decide/", {"decision": "approve", "arg-subject": "Q3, short version"})

    page = refused.content.decode()
    assert refused.status_code == 422
    assert "You changed Subject: press “Approve with these edits”" in html_lib.unescape(page)
    assert 'id="edit" open' in page and 'value="Q3, short version"' in page
    assert ReviewItem.objects.get(pk=item.pk).status == "pending"


def _input(page: str, name: str) -> str:
    return html_lib.unescape(re.search(rf'id="{name}"[^>]*value="([^"]*)"', page).group(1))


def test_a_plain_approval_sending_back_the_proposal_as_shown_is_carried_out(
        email_item, reviewer_user, client_for):  # noqa: F811
    item = email_item()
    client = client_for(reviewer_user)
    shown = client.get(f"/inbox/{item.pk}/").content.decode()

    # Every argument as the page shows it, the way the decide form sends them with Approve.
    client.post(f"/inbox/{item.pk}/decide/", {"decision": "approve", "arg-to": _input(shown, "arg-to"),
                                              "arg-subject": _input(shown, "arg-subject"),
                                              "arg-body": _textarea(shown, "arg-body")})

    assert ReviewItem.objects.get(pk=item.pk).decision == "approve"
