"""JSON that Python reads but no field can hold is refused naming its key path (422), and nothing is done.
Before, a key sent twice in one object was read as its last value (`{"decision": "reject", "decision":
"approve"}` approved), NaN, Infinity and 1e400 (read as floats no JSON can write back) were refused as
if a node had returned them, and a whole number of thousands of digits was a bare "Cannot parse request
body"."""

from __future__ import annotations

import pytest

from orchestrator.models import Run, RunStatus
from review.models import ItemStatus, ReviewItem


def test_a_key_sent_twice_is_refused_and_decides_nothing(api, reviewer_user, waiting):
    response = api(reviewer_user).post(f"/api/runs/{waiting.thread_id}/decision",
                                       '{"decision": "reject", "reason": "spam", "decision": "approve"}',
                                       content_type="application/json")

    assert response.status_code == 422
    assert response.json() == {
        "detail": "the request was not accepted: decision: is sent 2 times in one object; send it once. Correct it "
                  "and send it again; nothing was done.",
        "fields": {"decision": "is sent 2 times in one object; send it once"}}
    assert ReviewItem.objects.get(run=waiting).status == ItemStatus.PENDING


def test_a_key_sent_twice_deep_inside_is_named_by_its_path(api, engineer_user):
    body = ('{"workflow": "email_approval", "input": {"to": "a@b.co", "topic": "x", '
            '"decision": {"decision": "approve", "actor": "ana", "actor": "bob"}}}')

    response = api(engineer_user).post("/api/runs", body, content_type="application/json")

    assert response.status_code == 422
    assert response.json()["fields"] == {"input.decision.actor": "is sent 2 times in one object; send it once"}
    assert not Run.objects.exists()


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_a_number_json_cannot_hold_is_a_422_naming_its_path(api, engineer_user, number):
    body = '{"workflow": "email_approval", "input": {"to": "a@b.co", "topic": "x", "log": [1, NUMBER]}}'.replace(
        "NUMBER", number)

    response = api(engineer_user).post("/api/runs", body, content_type="application/json")

    assert response.status_code == 422
    assert response.json()["fields"] == {"input.log[1]": "must be a finite number: NaN, Infinity and numbers beyond "
                                                         "±1.8e308 are not JSON values a field can hold"}
    assert not Run.objects.exists()


def test_a_whole_number_too_long_to_read_is_a_400_saying_so(api, engineer_user, waiting):
    body = '{"at_step": ' + "9" * 5000 + "}"

    response = api(engineer_user).post(f"/api/runs/{waiting.thread_id}/fork", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"detail": "the request body holds a whole number of 5,000 digits, more than can be "
                                         "read (4,300); no field takes one so large. Nothing was done.", "fields": {}}
    assert Run.objects.get(pk=waiting.pk).status == RunStatus.SUSPENDED and Run.objects.count() == 1


def test_a_finite_number_reaches_the_schema_as_before(api, engineer_user):
    body = '{"workflow": "email_approval", "input": {"to": "a@b.co", "topic": "x", "log": [-2, 1e300]}}'

    response = api(engineer_user).post("/api/runs", body, content_type="application/json")

    assert response.status_code == 422  # by the state schema (log holds text), not by the parser
    assert response.json()["fields"] == {"input.log[0]": "must be text, not -2", "input.log[1]": "must be text, not 1e+300"}
