"""A decision sent with a text its decision does not use is refused (422 naming it), on both decision
endpoints and the bulk one, and nothing is decided. Before, the text was dropped without a word:
`{"decision": "approve", "edits": {...}}` approved the item unedited, and a reason sent with an approval
was recorded nowhere. Empty ones (`"reason": ""`, `"edits": null`) are what a client sends for "none",
and are taken."""

from __future__ import annotations

import json

import pytest

from review.models import ReviewItem

ENDPOINTS = ["/api/runs/{run}/decision", "/api/items/{item}/decision"]


def _post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_edits_sent_with_an_approval_are_refused_not_dropped(email_item, reviewer_user, client_for, endpoint):
    item = email_item()

    response = _post(client_for(reviewer_user), endpoint.format(run=item.run.thread_id, item=item.pk),
                     {"decision": "approve", "edits": {"subject": "Fixed subject"}})

    assert response.status_code == 422
    assert response.json() == {
        "detail": 'the request was not accepted: edits: goes with "decision": "edit" only; leave it out, or send that '
                  "decision. Correct it and send it again; nothing was done.",
        "fields": {"edits": 'goes with "decision": "edit" only; leave it out, or send that decision'}}
    assert ReviewItem.objects.get(pk=item.pk).status == "pending"


@pytest.mark.parametrize(("body", "fields"), [
    ({"decision": "approve", "reason": "looks fine"},
     {"reason": 'goes with "decision": "reject" only; leave it out, or send that decision'}),
    ({"decision": "reject", "reason": "spam", "response": "shorter"},
     {"response": 'goes with "decision": "respond" only; leave it out, or send that decision'}),
])
def test_a_text_another_decision_uses_is_refused(email_item, reviewer_user, client_for, body, fields):
    item = email_item()

    response = _post(client_for(reviewer_user), f"/api/items/{item.pk}/decision", body)

    assert response.status_code == 422 and response.json()["fields"] == fields
    assert ReviewItem.objects.get(pk=item.pk).status == "pending"


def test_empty_texts_beside_a_decision_are_taken(email_item, reviewer_user, client_for):
    item = email_item()

    response = _post(client_for(reviewer_user), f"/api/items/{item.pk}/decision",
                     {"decision": "approve", "reason": "", "edits": None, "response": " "})

    assert response.status_code == 200, response.content
    assert ReviewItem.objects.get(pk=item.pk).decision == "approve"


def test_a_reason_sent_with_a_bulk_approval_is_refused(email_item, reviewer_user, client_for):
    item = email_item()

    response = _post(client_for(reviewer_user), "/api/items/bulk",
                     {"ids": [item.pk], "decision": "approve", "reason": "all fine"})

    assert response.status_code == 422
    assert response.json()["fields"] == {"reason": 'goes with "decision": "reject" only; leave it out, or send that '
                                                   "decision"}
    assert ReviewItem.objects.get(pk=item.pk).status == "pending"
