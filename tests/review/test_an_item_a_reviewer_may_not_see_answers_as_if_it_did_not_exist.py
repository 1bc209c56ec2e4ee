"""A reviewer asking for an item of another group's was answered 403 where an id no item has was answered
404, so walking the ids told them which items other groups have (and how many, and when they come). Both
now answer the same 404, on the item page, its status poll, claim, release and decide, on the API's read,
claim and decision, and a bulk decision skips both as "no such item". A reviewer of the item's group
still reads and claims it; an item escalated away from a reviewer's group still tells them where it went.
"""

from __future__ import annotations

import html
import json
import re

import pytest
from django.utils import timezone

from review.bulk import items_decide_bulk
from review.models import ReviewItem

PAGES = [("get", "/inbox/{pk}/"), ("get", "/inbox/{pk}/status/"), ("post", "/inbox/{pk}/claim/"),
         ("post", "/inbox/{pk}/release/"), ("post", "/inbox/{pk}/decide/")]
_MASKED_TOKEN = re.compile(r'(?<="X-CSRFToken": ")[^"]*|(?<=name="csrfmiddlewaretoken" value=")[^"]*')
API = [("get", "/api/items/{pk}"), ("post", "/api/items/{pk}/claim"), ("post", "/api/items/{pk}/decision")]


@pytest.fixture
def legal_item(payment_item) -> ReviewItem:
    return payment_item(group="legal")


@pytest.fixture
def rita(make_user):
    """A reviewer, not in "legal"."""
    return make_user("rita", "reviewer")


def _absent(item: ReviewItem) -> int:
    return item.pk + 1000


def _answer(client, method: str, url: str, pk: int) -> tuple[int, str]:
    body = {"decision": "approve"} if "decision" in url or "decide" in url else {}
    if method == "get":
        response = client.get(url.format(pk=pk))
    elif url.startswith("/api/"):
        response = client.post(url.format(pk=pk), json.dumps(body), content_type="application/json")
    else:
        response = client.post(url.format(pk=pk), body)
    # The id is named in the answer ("there is no review item 7"), and a page carries CSRF tokens masked
    # afresh for every answer: compare all the rest.
    body = response.content.decode().replace(f"review item {pk}", "review item <id>")
    return response.status_code, _MASKED_TOKEN.sub("…", body)


@pytest.mark.parametrize(("method", "url"), PAGES + API, ids=[u for _m, u in PAGES + API])
def test_another_group_s_item_answers_as_an_id_no_item_has(legal_item, rita, client_for, method, url):
    client = client_for(rita)

    hidden = _answer(client, method, url, legal_item.pk)
    missing = _answer(client, method, url, _absent(legal_item))

    assert missing[0] == 404
    assert hidden == missing
    legal_item.refresh_from_db()
    assert (legal_item.status, legal_item.claimed_by_id) == ("pending", None)


def test_a_bulk_decision_skips_another_group_s_item_as_an_id_no_item_has(legal_item, rita):
    result = items_decide_bulk(item_ids=[legal_item.pk, _absent(legal_item)], actor=rita, decision="approve")

    assert result.skipped == [(legal_item.pk, "no such item"), (_absent(legal_item), "no such item")]


def test_a_reviewer_of_the_item_s_group_still_reads_and_claims_it(legal_item, make_user, client_for):
    lena = client_for(make_user("lena", "reviewer", "legal"))

    assert lena.get(f"/inbox/{legal_item.pk}/").status_code == 200
    assert lena.get(f"/api/items/{legal_item.pk}").json()["id"] == legal_item.pk
    assert lena.post(f"/api/items/{legal_item.pk}/claim", "{}", content_type="application/json").status_code == 200


def test_an_item_escalated_away_from_the_reviewer_s_group_says_where_it_went(payment_item, reviewer_user,
                                                                            client_for):
    item = payment_item()
    ReviewItem.objects.filter(pk=item.pk).update(reviewer_group="admin", escalated_from="reviewer",
                                                 escalated_at=timezone.now())

    response = client_for(reviewer_user).get(f"/inbox/{item.pk}/")

    assert response.status_code == 403
    assert "It was escalated to the 'admin' group at" in html.unescape(response.content.decode())
