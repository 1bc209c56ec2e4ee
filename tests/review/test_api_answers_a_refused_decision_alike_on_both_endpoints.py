"""A decision refused through /api/runs/{id}/decision gets the answer /api/items/{id}/decision gives for
the same mistake: 409 when someone else got there first (another reviewer decided it, or holds its claim),
otherwise a 422 with `fields`, each field at fault and what is wrong, like every other 422 of the API.
Before, a claim held by someone else was a 409 on one endpoint and a 422 on the other, and the field
errors were a "Fields: …" tail on one and missing on the other."""

from __future__ import annotations

import json

import pytest

from review.models import ReviewItem

ENDPOINTS = ["/api/runs/{run}/decision", "/api/items/{item}/decision"]


def _post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def _url(endpoint, item):
    return endpoint.format(run=item.run.thread_id, item=item.pk)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_claim_held_by_someone_else_is_a_409(email_item, reviewer_user, reviewer2_user, client_for, endpoint):
    item = email_item()
    _post(client_for(reviewer_user), f"/api/items/{item.pk}/claim", {})

    held = _post(client_for(reviewer2_user), _url(endpoint, item), {"decision": "approve"})

    assert held.status_code == 409 and held.json()["detail"].startswith("claimed by Riley Reviewer until")
    assert ReviewItem.objects.get(pk=item.pk).status == "pending"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_second_decision_is_a_409(email_item, reviewer_user, reviewer2_user, client_for, endpoint):
    item = email_item()
    _post(client_for(reviewer_user), f"/api/items/{item.pk}/decision", {"decision": "approve"})

    again = _post(client_for(reviewer2_user), _url(endpoint, item), {"decision": "approve"})

    assert again.status_code == 409 and "already decided (approve) by Riley Reviewer" in again.json()["detail"]


@pytest.mark.parametrize(("body", "fields"), [
    ({"decision": "reject"}, {"reason": "Say why you reject this."}),
    ({"decision": "edit", "edits": {"to": "not-an-email"}}, {"edits.to": "doesn't have the expected form (it must match "
                                                                   "'^[^@\\s]+@[^@\\s]+$')"}),
    ({"decision": "promote"}, {"decision": "is not allowed at this gate; send one of approve, reject, edit, respond"}),
])
def test_a_decision_the_gate_refuses_is_the_same_422_with_its_fields_on_both(email_item, reviewer_user,
                                                                             client_for, body, fields):
    item = email_item()
    client = client_for(reviewer_user)

    answers = [_post(client, _url(endpoint, item), body) for endpoint in ENDPOINTS]

    assert [a.status_code for a in answers] == [422, 422]
    assert answers[0].json() == answers[1].json()
    assert answers[0].json()["fields"] == fields
    assert ReviewItem.objects.get(pk=item.pk).status == "pending"


def test_a_bulk_rejection_without_a_reason_names_the_field(email_item, reviewer_user, client_for):
    item = email_item()

    refused = _post(client_for(reviewer_user), "/api/items/bulk", {"ids": [item.pk], "decision": "reject"})

    assert refused.status_code == 422
    assert refused.json() == {"detail": "a bulk rejection needs a reason: it is recorded on every item.",
                              "fields": {"reason": "Say why you reject these."}}
