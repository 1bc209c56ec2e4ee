"""A decision's reason or response has one limit, 10,000 characters, on every surface: the item page,
the bulk form and both API endpoints refuse a longer one, saying the limit and what to do, and decide
nothing; the pages show back everything that was typed. Before, any length was stored, shown on every
page and passed to the workflow."""

from __future__ import annotations

import html as html_lib
import json
import re

from review.models import ReviewItem
from review.services import DECISION_TEXT_MAX
from tests.review.fixtures import email_item  # noqa: F401  (fixture)

TOO_LONG = "x" * (DECISION_TEXT_MAX + 1)
LIMIT_SAID = "the reason is 10,001 characters, over the limit of 10,000: shorten it"


def _textarea(page: str, name: str) -> str:
    text = html_lib.unescape(re.search(rf'<textarea id="{name}" name="{name}"[^>]*>(.*?)</textarea>', page,
                                       re.S).group(1))
    return text.removeprefix("\n")


def test_the_item_page_refuses_a_long_reason_and_keeps_everything_typed(
        email_item, reviewer_user, client_for):  # noqa: F811
    item = email_item()
    response = client_for(reviewer_user).post(f"/inbox/{item.pk}/decide/", {
        "decision": "reject", "reason": TOO_LONG, "response": "Make it shorter",
        "arg-subject": "Q3 numbers, short version"})

    page = response.content.decode()
    assert response.status_code == 422
    assert "The reason is 10,001 characters, over the limit of 10,000: shorten it" in page
    assert "At most 10,000 characters; this has 10,001." in page  # under the reason's box
    assert _textarea(page, "reason") == TOO_LONG and _textarea(page, "response") == "Make it shorter"
    assert 'value="Q3 numbers, short version"' in page
    assert ReviewItem.objects.get(pk=item.pk).status == "pending"


def test_a_reason_of_exactly_the_limit_is_recorded(email_item, reviewer_user, client_for):  # noqa: F811
    item = email_item()
    client_for(reviewer_user).post(f"/inbox/{item.pk}/decide/", {"decision": "reject",
                                                                 "reason": "x" * DECISION_TEXT_MAX})

    assert ReviewItem.objects.get(pk=item.pk).reason == "x" * DECISION_TEXT_MAX


def test_a_long_reason_left_in_its_box_does_not_stop_an_approval(
        email_item, reviewer_user, client_for):  # noqa: F811
    item = email_item()
    client_for(reviewer_user).post(f"/inbox/{item.pk}/decide/", {"decision": "approve", "reason": TOO_LONG})

    assert ReviewItem.objects.get(pk=item.pk).decision == "approve"  # the reason goes only with a rejection


def test_the_bulk_form_refuses_it_and_keeps_the_selection(email_item, reviewer_user, client_for):  # noqa: F811
    items = [email_item(), email_item()]
    response = client_for(reviewer_user).post("/inbox/bulk/", {"ids": [i.pk for i in items], "decision": "reject",
                                                               "reason": TOO_LONG})

    page = response.content.decode()
    assert response.status_code == 422 and "The reason is 10,001 characters" in page
    assert f'name="reason" value="{TOO_LONG}"' in page
    assert set(ReviewItem.objects.values_list("status", flat=True)) == {"pending"}


def test_both_api_endpoints_refuse_it_naming_the_limit(email_item, reviewer_user, api):  # noqa: F811
    item = email_item()
    client = api(reviewer_user)

    by_run = client.post(f"/api/runs/{item.run.thread_id}/decision",
                         json.dumps({"decision": "reject", "reason": TOO_LONG}), content_type="application/json")
    by_item = client.post(f"/api/items/{item.pk}/decision",
                          json.dumps({"decision": "respond", "response": TOO_LONG}), content_type="application/json")
    bulk = client.post("/api/items/bulk", json.dumps({"ids": [item.pk], "decision": "reject", "reason": TOO_LONG}),
                       content_type="application/json")

    assert by_run.status_code == by_item.status_code == bulk.status_code == 422
    assert LIMIT_SAID in by_run.json()["detail"] and LIMIT_SAID in bulk.json()["detail"]
    assert "the response is 10,001 characters, over the limit of 10,000" in by_item.json()["detail"]
    assert ReviewItem.objects.get(pk=item.pk).status == "pending"
