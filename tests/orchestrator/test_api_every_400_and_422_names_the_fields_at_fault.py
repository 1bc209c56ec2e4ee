"""Every 400 and 422 of the API is `{"detail", "fields"}`: the detail says what to change, `fields` names
each key path at fault (a query parameter's with "?") and what is wrong with it, `{}` when the body as a
whole is. Before, a refused start (its input, thread id or labels), a cancel reason over the limit, an
inbox filter the API refused and a body that could not be read had a detail only, so a client that
marks the fields it sent had nothing to mark."""

from __future__ import annotations

import json

import pytest

from orchestrator.models import Run, RunStatus

START = {"workflow": "email_approval", "input": {"to": "a@b.co", "topic": "x"}}


def _start(client, **body):
    return client.post("/api/runs", json.dumps({**START, **body}), content_type="application/json")


def test_a_thread_id_that_is_not_allowed_is_named(api, engineer_user):
    response = _start(api(engineer_user), thread_id="a/b")

    assert response.status_code == 422
    assert response.json() == {
        "detail": "thread id 'a/b' is not allowed: use 1 to 200 letters, digits, '.', '_', ':' or '-', starting with "
                  "a letter or digit; or omit it.",
        "fields": {"thread_id": "must be 1 to 200 letters, digits, '.', '_', ':' or '-', starting with a letter or "
                                "digit"}}
    assert not Run.objects.exists()


@pytest.mark.parametrize(("thread_id", "problem"), [
    ("regression", "names a page of its own (/runs/regression/); pick another"),
    ("system", "is reserved for the ledger's system chain; pick another"),
])
def test_a_reserved_thread_id_is_named(api, engineer_user, thread_id, problem):
    response = _start(api(engineer_user), thread_id=thread_id)

    assert response.status_code == 422 and response.json()["fields"] == {"thread_id": problem}


def test_a_missing_required_label_is_named_by_its_path(api, engineer_user, test_graphs):
    response = _start(api(engineer_user), workflow="billed", input={}, labels={"department": "sales"})

    assert response.status_code == 422
    assert response.json()["fields"] == {"labels.customer": "is required on every run of workflow 'billed'"}


def test_a_value_the_state_schema_refuses_is_named_inside_the_input(api, engineer_user):
    response = _start(api(engineer_user), input={"to": "x", "topic": "x"})

    assert response.status_code == 422
    assert response.json() == {
        "detail": "the input was not accepted: to: must have at least 3 characters. Correct it and start the run "
                  "again.",
        "fields": {"input.to": "must have at least 3 characters"}}


def test_a_typed_blob_pointer_in_the_input_is_named(api, engineer_user):
    response = _start(api(engineer_user), input={"to": "a@b.co", "topic": "x", "body": {"$blob": "0" * 64}})

    assert response.status_code == 422
    assert response.json()["fields"] == {
        "input.body.$blob": "is reserved for the engine's pointers to stored documents; remove it"}


def test_an_input_over_the_limit_is_named(api, engineer_user, settings):
    settings.GATEHOUSE_MAX_INPUT_BYTES = 100

    response = _start(api(engineer_user), input={"to": "a@b.co", "topic": "x" * 200})

    assert response.status_code == 422
    assert response.json()["fields"] == {"input": "is 226 bytes, over the limit of 100"}


def test_a_cancel_reason_over_the_limit_is_named_and_cancels_nothing(api, engineer_user, waiting):
    response = api(engineer_user).post(f"/api/runs/{waiting.thread_id}/cancel", json.dumps({"reason": "x" * 2001}),
                                       content_type="application/json")

    assert response.status_code == 422
    assert response.json() == {
        "detail": "the reason is 2,001 characters, over the limit of 2,000: shorten it and cancel again. Nothing was "
                  "cancelled.",
        "fields": {"reason": "must have at most 2,000 characters (it has 2,001)"}}
    assert Run.objects.get(pk=waiting.pk).status == RunStatus.SUSPENDED


@pytest.mark.parametrize(("query", "fields"), [
    ("scope=everything", {"?scope": "must be one of: mine, unassigned, overdue (or empty)"}),
    ("risk=extreme", {"?risk": "must be one of: low, medium, high, critical"}),
    ("after=garbage", {"?after": 'is not a "next" this list gave; send one as it was given, or leave it out for the '
                                 "first page"}),
    ("q=" + "x" * 201, {"?q": "must have at most 200 characters (it has 201)"}),
])
def test_an_inbox_filter_the_api_refuses_is_named_as_a_query_parameter(api, reviewer_user, query, fields):
    response = api(reviewer_user).get(f"/api/items?{query}")

    assert response.status_code == 422
    assert response.json() == {"detail": (f"the request was not accepted: {next(iter(fields))}: "
                                          f"{next(iter(fields.values()))}. Correct it and send it again; nothing was "
                                          "done."), "fields": fields}


def test_a_request_without_a_body_is_a_400_with_no_one_field_at_fault(api, engineer_user, waiting):
    response = api(engineer_user).post(f"/api/runs/{waiting.thread_id}/retry", "", content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"detail": (
        "the request has no body; nothing was done. Send one JSON object with Content-Type: application/json; "
        "/api/docs lists each endpoint's fields. Where every field is optional, send {} for their defaults."),
        "fields": {}}
