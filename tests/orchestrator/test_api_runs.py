"""The JSON API: bearer tokens, role checks, and the same errors as the CLI."""

from __future__ import annotations

import json

import pytest

from orchestrator.executor import run_advance
from orchestrator.models import Run


def test_an_engineer_starts_a_run_and_reads_it_back(api, engineer_user):
    client = api(engineer_user)
    created = client.post("/api/runs", {"workflow": "email_approval", "input": {"to": "a@b.co", "topic": "hi"},
                                         "labels": {"department": "legal"}}, content_type="application/json")
    assert created.status_code == 201, created.content
    thread_id = created.json()["thread_id"]
    assert created.json()["status"] == "queued"
    run = Run.objects.get(thread_id=thread_id)
    assert run.created_by == engineer_user and run.labels == {"department": "legal"}
    run_advance(run.pk, worker="test")
    shown = client.get(f"/api/runs/{thread_id}").json()
    assert shown["status"] == "suspended" and shown["pending_gate"]["action"] == "send_email"
    steps = client.get(f"/api/runs/{thread_id}/checkpoints").json()
    assert [s["source"] for s in steps] == ["input", "node", "gate"]


def test_a_reviewer_decides_through_the_api_once(api, engineer_user, reviewer_user, reviewer2_user):
    thread_id = api(engineer_user).post("/api/runs", {"workflow": "email_approval", "input": {
        "to": "a@b.co", "topic": "hi"}}, content_type="application/json").json()["thread_id"]
    run_advance(Run.objects.get(thread_id=thread_id).pk, worker="test")
    ok = api(reviewer_user).post(f"/api/runs/{thread_id}/decision", {"decision": "edit", "edits": {"body": "Hi!"}},
                                 content_type="application/json")
    assert ok.status_code == 200, ok.content
    assert ok.json()["decision"] == "edit" and ok.json()["run"]["status"] == "queued"
    again = api(reviewer2_user).post(f"/api/runs/{thread_id}/decision", {"decision": "approve"},
                                     content_type="application/json")
    assert again.status_code == 409
    assert "by Riley Reviewer at " in again.json()["detail"]


@pytest.mark.parametrize(("body", "status", "text"), [
    ({"workflow": "nope"}, 422, "unknown workflow"),
    ({"workflow": "email_approval", "input": {"to": "x"}}, 422, "the input was not accepted: to: must have at least 3 characters"),
    # A thread id names the run in URLs and exports: no "/", no leading "=", at most 200 characters.
    ({"workflow": "email_approval", "input": {"to": "a@b.co", "topic": "x"}, "thread_id": "a/b"}, 422,
     "thread id 'a/b' is not allowed: use 1 to 200 letters"),
    ({"workflow": "email_approval", "input": {"to": "a@b.co", "topic": "x"}, "thread_id": "=HYPERLINK(1)"}, 422,
     "is not allowed"),
    ({"workflow": "email_approval", "input": {"to": "a@b.co", "topic": "x"}, "thread_id": "t" * 201}, 422,
     "is not allowed"),
    ({"workflow": "email_approval", "input": {"to": "a@b.co", "topic": "x"}, "thread_id": "regression"}, 422,
     "names a page of its own (/runs/regression/)"),
])
def test_bad_starts_get_a_clear_error(api, engineer_user, body, status, text):
    response = api(engineer_user).post("/api/runs", body, content_type="application/json")
    assert response.status_code == status and text in response.json()["detail"]


def test_invalid_json_is_refused_saying_where_and_what_to_send(api, engineer_user):
    response = api(engineer_user).post("/api/runs", "{nope", content_type="application/json")
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "not valid JSON (Expecting property name enclosed in double quotes: line 1 column 2" in detail
    assert "Send one JSON object" in detail and not Run.objects.exists()


def test_the_api_takes_bodies_larger_than_a_forms_limit(api, engineer_user):
    # A run input may be up to GATEHOUSE_MAX_INPUT_BYTES (16 MB): the request limit follows it for
    # the API (Django's default 2.5 MB would refuse this 3 MB body before the schema is checked).
    body = json.dumps({"workflow": "email_approval", "input": {"to": "x"}, "labels": {"pad": "x" * 3_000_000}})
    response = api(engineer_user).post("/api/runs", body, content_type="application/json")
    assert response.status_code == 422 and "the input was not accepted" in response.json()["detail"]


def test_an_oversized_body_is_a_413_naming_the_limit(api, engineer_user, settings):
    settings.GATEHOUSE_MAX_INPUT_BYTES, settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096, 8192
    body = json.dumps({"workflow": "email_approval", "input": {"to": "a@b.co", "topic": "x" * 20_000}})
    response = api(engineer_user).post("/api/runs", body, content_type="application/json")
    assert response.status_code == 413
    assert "over the 8,192-byte limit (GATEHOUSE_MAX_INPUT_BYTES=4,096" in response.json()["detail"]
    assert not Run.objects.exists()


def test_roles_are_enforced(api, reviewer_user, compliance_user, engineer_user):
    body = {"workflow": "email_approval", "input": {"to": "a@b.co", "topic": "hi"}}
    assert api(reviewer_user).post("/api/runs", body, content_type="application/json").status_code == 403
    assert api(compliance_user).post("/api/runs", body, content_type="application/json").status_code == 403
    thread_id = api(engineer_user).post("/api/runs", body, content_type="application/json").json()["thread_id"]
    run_advance(Run.objects.get(thread_id=thread_id).pk, worker="test")
    decided = api(engineer_user).post(f"/api/runs/{thread_id}/decision", {"decision": "approve"},
                                      content_type="application/json")
    # JSON with the reason, as for every API error (not an HTML page or a server error).
    assert decided.status_code == 403 and decided.json()["detail"] == (
        "engineer may not decide this item: only members of the 'reviewer' group and admins may.")
    refused = api(reviewer_user).post("/api/runs", body, content_type="application/json")
    assert "this needs one of the roles: engineer, admin" in refused.json()["detail"]


def test_no_token_or_a_wrong_token_is_401(api):
    assert api().get("/api/runs/x").status_code == 401
    assert api(token="gh_wrong").get("/api/runs/x").status_code == 401


def test_an_unknown_run_is_404(api, engineer_user):
    response = api(engineer_user).get("/api/runs/no-such-run")
    assert response.status_code == 404 and "no run with thread id" in response.json()["detail"]


def test_the_openapi_schema_documents_the_endpoints_to_signed_in_users_and_bots(client, client_for, api,
                                                                                engineer_user):
    assert client.get("/api/schema").status_code == 302  # to the login page: not published to the internet
    assert client.get("/api/docs").status_code == 302
    assert api(token="gh_wrong").get("/api/schema").status_code == 302
    assert api(engineer_user).get("/api/schema").status_code == 200  # a bot with a token reads it too
    schema = client_for(engineer_user).get("/api/schema").json()
    assert {"/api/runs", "/api/runs/{thread_id}", "/api/runs/{thread_id}/checkpoints",
            "/api/runs/{thread_id}/decision"} <= set(schema["paths"])


def test_a_reviewer_reads_where_a_run_they_review_stands_but_not_its_data(api, engineer_user, reviewer_user):
    thread_id = api(engineer_user).post("/api/runs", {"workflow": "email_approval", "input": {
        "to": "a@b.co", "topic": "hi"}, "labels": {"customer": "acme-42"}},
                                        content_type="application/json").json()["thread_id"]
    run_advance(Run.objects.get(thread_id=thread_id).pk, worker="test")

    shown = api(reviewer_user).get(f"/api/runs/{thread_id}")

    assert shown.status_code == 200
    view = shown.json()
    assert view["status"] == "suspended" and view["pending_gate"]["action"] == "send_email"
    # Labels may name a customer; cost and lineage are the engineers' business.
    assert not {"labels", "cost", "input_tokens", "output_tokens", "parent", "forked_from_step", "replay_mode",
                "allow_effects", "overrides", "diverged_at_step"} & set(view)
    assert "acme-42" not in shown.content.decode()
    assert api(engineer_user).get(f"/api/runs/{thread_id}").json()["labels"] == {"customer": "acme-42"}
    by_number = api(reviewer_user).get(f"/api/runs/{Run.objects.get(thread_id=thread_id).pk}")
    assert by_number.status_code == 200 and by_number.json() == view  # by database id, as engineers may

    decided = api(reviewer_user).post(f"/api/runs/{thread_id}/decision", {"decision": "approve"},
                                      content_type="application/json")
    assert decided.status_code == 200, decided.content
    assert decided.json()["run"]["status"] == "queued"  # the decision's answer shows the run the same way
    assert not {"labels", "cost", "input_tokens", "output_tokens", "parent"} & set(decided.json()["run"])
    assert "acme-42" not in decided.content.decode()


def test_a_run_with_nothing_for_a_reviewer_is_not_there_for_them(api, engineer_user, reviewer_user):
    body = {"workflow": "document_pipeline", "input": {"pages": 2}, "labels": {"customer": "acme-42"}}
    thread_id = api(engineer_user).post("/api/runs", body, content_type="application/json").json()["thread_id"]
    run = Run.objects.get(thread_id=thread_id)
    run_advance(run.pk, worker="test")
    reviewer = api(reviewer_user)

    unknown = reviewer.get("/api/runs/no-such-run")
    for answer in (reviewer.get(f"/api/runs/{thread_id}"), reviewer.get(f"/api/runs/{run.pk}"),  # nor by number
                   reviewer.post(f"/api/runs/{thread_id}/decision", {"decision": "approve"},
                                 content_type="application/json")):
        assert answer.status_code == unknown.status_code == 404
        assert "that has a review item you may read" in answer.json()["detail"]
        assert "acme-42" not in answer.content.decode()


def test_a_reviewer_reads_a_failed_runs_status_but_not_its_error_details(api, test_graphs, engineer_user,
                                                                         reviewer_user, monkeypatch):
    from tests.orchestrator.graphs import FLAKY, PARSER

    monkeypatch.setitem(PARSER, "broken", False)
    monkeypatch.setitem(FLAKY, "mode", "fail_before_call")
    thread_id = api(engineer_user).post("/api/runs", {"workflow": "ask_then_flaky"},
                                        content_type="application/json").json()["thread_id"]
    run = Run.objects.get(thread_id=thread_id)
    assert run_advance(run.pk, worker="test") == "suspended"
    decided = api(reviewer_user).post(f"/api/runs/{thread_id}/decision", {"decision": "approve"},
                                      content_type="application/json")
    assert decided.status_code == 200, decided.content
    assert run_advance(run.pk, worker="test") == "failed"  # the node after the gate

    engineer_view = api(engineer_user).get(f"/api/runs/{thread_id}").json()
    reviewer_view = api(reviewer_user).get(f"/api/runs/{thread_id}").json()
    assert reviewer_view["status"] == engineer_view["status"] == "failed"
    assert "the attachment was not there yet" in engineer_view["error"]
    assert reviewer_view["error"] == "failed (details for engineers)"


def test_who_decided_a_gate_is_told_only_to_those_who_may_read_it(api, test_graphs, engineer_user, reviewer_user,
                                                                  admin_user):
    thread_id = api(engineer_user).post("/api/runs", {"workflow": "two_desks"},
                                        content_type="application/json").json()["thread_id"]
    run = Run.objects.get(thread_id=thread_id)
    assert run_advance(run.pk, worker="test") == "suspended"
    approve = {"decision": "approve"}
    assert api(reviewer_user).post(f"/api/runs/{thread_id}/decision", approve,
                                   content_type="application/json").status_code == 200
    assert run_advance(run.pk, worker="test") == "suspended"  # now at the finance group's gate
    assert api(admin_user).post(f"/api/runs/{thread_id}/decision", approve,
                                content_type="application/json").status_code == 200

    to_reviewer = api(reviewer_user).post(f"/api/runs/{thread_id}/decision", approve, content_type="application/json")
    to_engineer = api(engineer_user).post(f"/api/runs/{thread_id}/decision", approve, content_type="application/json")

    assert to_reviewer.status_code == to_engineer.status_code == 409
    assert "has no pending gate to decide" in to_reviewer.json()["detail"]
    assert "admin" not in to_reviewer.json()["detail"]  # the finance gate is not theirs to read
    assert "already decided (approve) by Alex Admin at " in to_engineer.json()["detail"]
