"""A decision the gate does not allow is a 422 naming the body's `decision` and the decisions the gate
takes, on /api/runs/{id}/decision and /api/items/{id}/decision alike; a bulk decision that is neither
approve nor reject names `decision` too, and a bulk request without items or over the cap names `ids`.
Before, each was answered with `fields: {}`, as if no one field were at fault. (In bulk, an item whose gate
refuses the decision is skipped and named by its id, as before.)"""

from __future__ import annotations

import json

import pytest

from orchestrator.executor import run_advance
from orchestrator.services import run_start
from review.bulk import BULK_CAP
from review.models import ReviewItem
from tests.review.fixtures import nothing_was_decided

ENDPOINTS = ["/api/runs/{run}/decision", "/api/items/{item}/decision"]


def _post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


@pytest.fixture
def asking(transactional_db, register_workflows) -> ReviewItem:
    """The pending item of a `sequence` run, whose gate takes approve, reject or respond (not edit)."""
    register_workflows("tests.orchestrator.graphs")
    run = run_start(workflow="sequence")
    assert run_advance(run.pk, worker="test") == "suspended"
    return ReviewItem.objects.select_related("run").get(run=run)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_an_edit_at_a_gate_that_takes_none_names_decision_and_those_it_takes(asking, reviewer_user, api, endpoint):
    response = _post(api(reviewer_user), endpoint.format(run=asking.run.thread_id, item=asking.pk),
                     {"decision": "edit", "edits": {"n": 3}})

    assert response.status_code == 422
    assert response.json() == {
        "detail": "decision 'edit' is not allowed at this gate; allowed: approve, reject, respond.",
        "fields": {"decision": "is not allowed at this gate; send one of approve, reject, respond"}}
    nothing_was_decided(asking)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_decision_that_is_none_of_them_names_decision(email_item, reviewer_user, api, endpoint):
    item = email_item()

    response = _post(api(reviewer_user), endpoint.format(run=item.run.thread_id, item=item.pk), {"decision": "ok"})

    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["decision"]
    assert response.json()["fields"]["decision"].startswith("is not allowed at this gate; send one of approve")
    nothing_was_decided(item)


def test_a_bulk_decision_that_is_not_approve_or_reject_names_decision(email_item, reviewer_user, api):
    item = email_item()

    response = _post(api(reviewer_user), "/api/items/bulk", {"ids": [item.pk], "decision": "edit"})

    assert response.status_code == 422
    assert response.json()["fields"] == {
        "decision": "must be approve or reject in bulk; open an item to edit it or respond"}
    nothing_was_decided(item)


@pytest.mark.parametrize(("count", "problem"), [
    (0, "must hold at least one item id"),
    (BULK_CAP + 1, f"holds {BULK_CAP + 1} item ids; send at most {BULK_CAP} at once"),
])
def test_a_bulk_decision_without_items_or_over_the_cap_names_ids(reviewer_user, api, db, count, problem):
    response = _post(api(reviewer_user), "/api/items/bulk", {"ids": list(range(1, count + 1)),
                                                             "decision": "approve"})

    assert response.status_code == 422
    assert response.json()["fields"] == {"ids": problem}


def test_in_bulk_an_item_whose_gate_refuses_the_decision_is_skipped_by_its_id(asking, email_item, reviewer_user,
                                                                              api):
    item = email_item()
    request = json.loads(asking.request)
    request["allowed"] = ["approve", "respond"]  # a gate whose workflow gives a rejection nowhere to go
    ReviewItem.objects.filter(pk=asking.pk).update(request=json.dumps(request))

    response = _post(api(reviewer_user), "/api/items/bulk", {"ids": [asking.pk, item.pk], "decision": "reject",
                                                             "reason": "not now"})

    assert response.status_code == 200, response.content
    assert response.json()["decided"] == [item.pk]
    assert response.json()["skipped"] == [{"id": asking.pk, "why": "decision 'reject' is not allowed at this gate; "
                                                                   "allowed: approve, respond."}]
