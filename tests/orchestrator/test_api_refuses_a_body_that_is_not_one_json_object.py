"""Every API body is one JSON object sent as JSON. Before, ninja read any content type as JSON and
read an array, a string or null as an object with no fields: `POST /api/runs/{id}/cancel` with the body
`[]` cancelled the run, a nested-too-deep body got "Cannot parse request body", and text holding a NUL
character (which PostgreSQL cannot store) in a label or a reason was a server error. Each is now refused
with what to send instead, and nothing is done: a 400 with `"fields": {}` for a body that cannot be read as
one object, a 422 naming each key path at fault for one that holds what no field can."""

from __future__ import annotations

import json

import pytest

from orchestrator.models import Run, RunStatus
from review.models import ItemStatus, ReviewItem


def _unchanged(run: Run) -> None:
    assert Run.objects.get(pk=run.pk).status == RunStatus.SUSPENDED
    assert ReviewItem.objects.get(run=run).status == ItemStatus.PENDING


@pytest.mark.parametrize(("body", "kind"), [("[]", "an array"), ('"cancel"', "a string"), ("null", "null"),
                                            ("5", "a number"), ("true", "true or false")])
def test_a_body_that_is_not_an_object_is_a_400_and_cancels_nothing(api, engineer_user, waiting, body, kind):
    response = api(engineer_user).post(f"/api/runs/{waiting.thread_id}/cancel", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"detail": (
        f"the request body is {kind}, not a JSON object; nothing was done. Send one JSON object with "
        "Content-Type: application/json; /api/docs lists each endpoint's fields."), "fields": {}}
    _unchanged(waiting)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_body_not_sent_as_json_is_a_415_naming_the_header_to_send(api, engineer_user, waiting, content_type):
    response = api(engineer_user).post(f"/api/runs/{waiting.thread_id}/cancel", '{"reason": "dup"}',
                                       content_type=content_type)

    assert response.status_code == 415
    assert response.json()["detail"].startswith(
        f"the request body is sent as {content_type!r}, not as JSON; nothing was done. Send one JSON object with "
        "Content-Type: application/json")
    _unchanged(waiting)


def test_a_form_post_without_a_body_is_told_to_send_json(api, engineer_user, waiting):
    response = api(engineer_user).post(f"/api/runs/{waiting.thread_id}/cancel")  # the client's multipart default

    assert response.status_code == 415 and "not as JSON" in response.json()["detail"]
    _unchanged(waiting)


def test_json_nested_too_deeply_to_read_says_so(api, engineer_user, waiting):
    body = '{"reason": ' + "[" * 100_000 + "]" * 100_000 + "}"

    response = api(engineer_user).post(f"/api/runs/{waiting.thread_id}/cancel", body, content_type="application/json")

    assert response.status_code == 400 and response.json()["fields"] == {}
    assert response.json()["detail"].startswith("the request body nests JSON too deeply to be read; nothing was done.")
    _unchanged(waiting)


def test_invalid_json_sent_to_any_endpoint_is_told_what_to_send(api, reviewer_user, waiting):
    response = api(reviewer_user).post(f"/api/runs/{waiting.thread_id}/decision", '{"decision": approve}',
                                       content_type="application/json")

    assert response.status_code == 400 and response.json()["fields"] == {}
    detail = response.json()["detail"]
    assert detail.startswith("the request body is not valid JSON (Expecting value: line 1 column 14 (char 13)); "
                             "nothing was done. Send one JSON object with Content-Type: application/json")
    assert "workflow" not in detail  # not the example of another endpoint's body
    _unchanged(waiting)


def test_a_label_holding_a_nul_character_is_a_422_naming_it_and_starts_nothing(api, engineer_user):
    body = {"workflow": "email_approval", "input": {"to": "a@b.co", "topic": "x"}, "labels": {"customer": "acme\x00"}}

    response = api(engineer_user).post("/api/runs", json.dumps(body), content_type="application/json")

    assert response.status_code == 422
    assert response.json() == {
        "detail": "the request was not accepted: labels.customer: text may not contain the NUL character (\\u0000); "
                  "remove it. Correct it and send it again; nothing was done.",
        "fields": {"labels.customer": "text may not contain the NUL character (\\u0000); remove it"}}
    assert not Run.objects.exists()


@pytest.mark.parametrize(("body", "fields"), [
    ({"decision": "reject", "reason": "spam\x00"}, {"reason": "text may not contain the NUL character (\\u0000); "
                                                               "remove it"}),
    ({"decision": "edit", "edits": {"body": ["ok", "x\x00"]}},
     {"edits.body[1]": "text may not contain the NUL character (\\u0000); remove it"}),
    ({"decision": "edit", "edits": {"b\x00dy": "x"}},
     {"edits": "has a key holding the NUL character (\\u0000); remove it"}),
])
def test_a_decision_holding_a_nul_character_is_a_422_and_decides_nothing(api, reviewer_user, waiting, body, fields):
    response = api(reviewer_user).post(f"/api/runs/{waiting.thread_id}/decision", json.dumps(body),
                                       content_type="application/json")

    assert response.status_code == 422 and response.json()["fields"] == fields
    _unchanged(waiting)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32-le"])
def test_a_nul_character_is_found_in_a_body_sent_in_another_unicode_encoding(api, engineer_user, encoding):
    # json.loads reads UTF-16 and UTF-32 too, where "\u0000" is not those six bytes of UTF-8.
    body = {"workflow": "email_approval", "input": {"to": "a@b.co", "topic": "x"}, "labels": {"customer": "acme\x00"}}

    response = api(engineer_user).post("/api/runs", json.dumps(body).encode(encoding), content_type="application/json")

    assert response.status_code == 422
    assert response.json()["fields"] == {"labels.customer": "text may not contain the NUL character (\\u0000); remove it"}
    assert not Run.objects.exists()
