"""A run's input with a key its workflow's state does not declare is refused, naming the key path and
the fields that are taken there, and nothing is started. Before, pydantic dropped it without a word: a
client that misspelt "topic" as "tpoic" started a run without the value it meant to give. A workflow
whose state schema sets `extra` itself has chosen: "allow" keeps such keys, "ignore" drops them."""

from __future__ import annotations

import json

import pytest

from orchestrator.history import state_at
from orchestrator.models import Run
from orchestrator.services import RunError, run_start

EMAIL_FIELDS = "to, topic, subject, body, model, decision, message_id, log"


def _start(client, workflow, payload):
    return client.post("/api/runs", json.dumps({"workflow": workflow, "input": payload}),
                       content_type="application/json")


def test_an_unknown_input_key_is_a_422_naming_it_and_the_fields(api, engineer_user):
    response = _start(api(engineer_user), "email_approval", {"to": "ana@example.com", "topic": "Q3", "dry_run": True})

    assert response.status_code == 422
    problem = f"is not a field the workflow knows; remove it (workflow 'email_approval' has {EMAIL_FIELDS})"
    assert response.json() == {
        "detail": f"the input was not accepted: dry_run: {problem}. Correct it and start the run again.",
        "fields": {"input.dry_run": problem}}
    assert not Run.objects.exists()


def test_a_misspelt_required_field_is_named_beside_the_one_it_was_meant_to_be(api, engineer_user):
    response = _start(api(engineer_user), "email_approval", {"to": "ana@example.com", "tpoic": "Q3"})

    assert response.status_code == 422
    assert response.json()["detail"].startswith(
        "the input was not accepted: topic: is required; tpoic: is not a field the workflow knows; remove it")
    assert response.json()["fields"] == {
        "input.topic": "is required",
        "input.tpoic": f"is not a field the workflow knows; remove it (workflow 'email_approval' has {EMAIL_FIELDS})"}


def test_a_key_inside_a_nested_field_is_named_by_its_path(api, engineer_user):
    response = _start(api(engineer_user), "email_approval", {
        "to": "ana@example.com", "topic": "Q3", "decision": {"decision": "approve", "actor": "ana", "reasn": "ok"}})

    assert response.status_code == 422
    assert "decision.reasn: is not a field the workflow knows; remove it (decision has decision, actor, reason, " \
           "response, edits)" in response.json()["detail"]
    assert response.json()["fields"] == {"input.decision.reasn": "is not a field the workflow knows; remove it "
                                                                 "(input.decision has decision, actor, reason, response, "
                                                                 "edits)"}
    assert not Run.objects.exists()


def test_every_unknown_key_is_named_by_the_service_every_interface_calls(db):
    with pytest.raises(RunError) as refused:
        run_start(workflow="email_approval", input={"to": "ana@example.com", "topic": "Q3", "cc": "x", "bcc": "y"})

    assert "cc: is not a field the workflow knows" in str(refused.value)
    assert "bcc: is not a field the workflow knows" in str(refused.value)


def test_a_schema_that_allows_extra_keys_keeps_them(api, engineer_user, test_graphs):
    response = _start(api(engineer_user), "open_ended", {"n": 1, "note": "kept"})

    assert response.status_code == 201, response.content
    run = Run.objects.get(thread_id=response.json()["thread_id"])
    assert state_at(run.pk, 0) == {"n": 1, "note": "kept"}


def test_a_schema_that_ignores_extra_keys_drops_them_as_it_chose(api, engineer_user, test_graphs):
    response = _start(api(engineer_user), "tolerant", {"n": 1, "legacy": True})

    assert response.status_code == 201, response.content
    assert state_at(Run.objects.get(thread_id=response.json()["thread_id"]).pk, 0) == {"n": 1}
