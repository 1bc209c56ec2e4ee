"""A body or query the endpoint's schema refuses is a 422 that reads like every other API error: one
sentence naming each key path at fault and what a good value is, and a {key path: problem} map, as a
fork's refusal has. Before, it was ninja's list of pydantic errors at ["body", "body", "labels", "a"].
A key the endpoint does not take is refused the same way instead of being dropped: a misspelt "reson"
rejected without its reason, a "threadId" started a run under another id. A request with no body
is told to send one."""

from __future__ import annotations

import json

import pytest

from orchestrator.models import Run, RunStatus
from review.models import ItemStatus, ReviewItem


def _post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


@pytest.mark.parametrize(("body", "fields"), [
    ({"workflow": 5}, {"workflow": "must be text"}),
    ({"input": {}}, {"workflow": "is required"}),
    ({"workflow": "email_approval", "input": ["to"]}, {"input": 'must be an object, e.g. {"key": "value"}'}),
    ({"workflow": "email_approval", "labels": {"customer": 42}}, {"labels.customer": "must be text"}),
])
def test_a_start_the_schema_refuses_names_each_key_path(api, engineer_user, body, fields):
    response = _post(api(engineer_user), "/api/runs", body)

    assert response.status_code == 422
    problems = "; ".join(f"{k}: {v}" for k, v in fields.items())
    assert response.json() == {"detail": f"the request was not accepted: {problems}. Correct it and send it again; "
                                         "nothing was done.", "fields": fields}
    assert not Run.objects.exists()


def test_a_fork_step_that_is_not_a_number_is_named(api, engineer_user, waiting):
    response = _post(api(engineer_user), f"/api/runs/{waiting.thread_id}/fork", {"at_step": "two"})

    assert response.status_code == 422
    assert response.json()["fields"] == {"at_step": "must be a whole number, e.g. 3"}
    assert Run.objects.count() == 1


def test_a_query_parameter_that_is_not_a_number_is_named_as_one(api, engineer_user, waiting):
    response = api(engineer_user).get(f"/api/runs/{waiting.thread_id}/diff?from=abc&to=1")

    assert response.status_code == 422
    assert response.json()["detail"] == ("the request was not accepted: ?from: must be a whole number, e.g. 3. "
                                         "Correct it and send it again; nothing was done.")


def test_a_misspelt_key_is_refused_not_dropped(api, reviewer_user, waiting):
    response = _post(api(reviewer_user), f"/api/runs/{waiting.thread_id}/decision",
                     {"decision": "reject", "reson": "a duplicate"})

    assert response.status_code == 422
    assert response.json()["fields"] == {"reson": "is not a field of this request; remove it, or check its spelling"}
    assert ReviewItem.objects.get(run=waiting).status == ItemStatus.PENDING  # not rejected without its reason


def test_a_start_with_a_misspelt_thread_id_starts_nothing(api, engineer_user):
    response = _post(api(engineer_user), "/api/runs", {"workflow": "email_approval", "threadId": "invoice-42",
                                                       "input": {"to": "a@b.co", "topic": "x"}})

    assert response.status_code == 422 and "threadId: is not a field of this request" in response.json()["detail"]
    assert not Run.objects.exists()


def test_the_inbox_api_refuses_an_unknown_key_too(api, reviewer_user, waiting):
    item = ReviewItem.objects.get(run=waiting)

    response = _post(api(reviewer_user), f"/api/items/{item.pk}/decision", {"decision": "reject", "comment": "dup"})

    assert response.status_code == 422 and response.json()["fields"] == {
        "comment": "is not a field of this request; remove it, or check its spelling"}
    assert ReviewItem.objects.get(pk=item.pk).status == ItemStatus.PENDING


def test_a_request_with_no_body_is_told_to_send_one(api, engineer_user, waiting):
    response = api(engineer_user).post(f"/api/runs/{waiting.thread_id}/cancel", "", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["detail"] == (
        "the request has no body; nothing was done. Send one JSON object with Content-Type: application/json; "
        "/api/docs lists each endpoint's fields. Where every field is optional, send {} for their defaults.")
    assert Run.objects.get(pk=waiting.pk).status == RunStatus.SUSPENDED
