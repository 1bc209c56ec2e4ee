"""A run's input naming a field the workflow's state does not declare (a misspelt "topc", a
"dry_run" the workflow never had) is refused naming it and the fields there are, on the CLI and the
API alike, and nothing is started: it used to be dropped without a word, starting a run that did not
do what was asked."""

from __future__ import annotations

import json

import pytest

from orchestrator.models import Run
from orchestrator.services import RunError, run_start


def test_a_misspelt_field_is_named_with_the_workflows_fields(db):
    with pytest.raises(RunError) as caught:
        run_start(workflow="email_approval", input={"to": "a@example.com", "topic": "Q3", "subjct": "Hello"})
    assert str(caught.value) == (
        "the input was not accepted: subjct: is not a field the workflow knows; remove it (workflow 'email_approval' "
        "has to, topic, subject, body, model, decision, message_id, log). Correct it and start the run again.")
    assert not Run.objects.exists()


def test_the_cli_refuses_it_in_one_line(manage):
    result = manage("runs", "start", "email_approval", "--input",
                    '{"to": "a@example.com", "topic": "Q3", "dry_run": true}', check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("CommandError: the input was not accepted: dry_run: is not a field the workflow "
                                    "knows; remove it")
    assert not Run.objects.exists()


def test_the_api_refuses_it_with_a_422(api, engineer_user):
    response = api(engineer_user).post("/api/runs", json.dumps({
        "workflow": "email_approval", "input": {"to": "a@example.com", "topic": "Q3", "dry_run": True}}),
        content_type="application/json")
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "the input was not accepted: dry_run: is not a field the workflow knows; remove it (workflow 'email_approval' "
        "has to, topic, subject, body, model, decision, message_id, log). Correct it and start the run again.")
    assert not Run.objects.exists()
