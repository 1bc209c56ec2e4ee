"""`runs fork` / `runs diff` on the command line and POST /api/runs/{id}/fork, GET /api/runs/{id}/diff."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from orchestrator.models import Run


def _cli(*args: str) -> str:
    out = StringIO()
    call_command("runs", *args, stdout=out)
    return out.getvalue().strip()


def test_the_cli_forks_with_edits_and_prints_the_new_thread_id(pipeline_run, engineer_user):
    thread_id = _cli("fork", pipeline_run.thread_id, "--at", "3", "--set", '{"language": "de"}', "--mode", "live",
                     "--actor", "engineer")

    fork = Run.objects.get(thread_id=thread_id)
    assert (fork.parent_id, fork.forked_from_step, fork.replay_mode) == (pipeline_run.pk, 3, "live")
    with pytest.raises(CommandError, match="pages"):
        _cli("fork", pipeline_run.thread_id, "--at", "3", "--set", '{"pages": "x"}', "--actor", "engineer")
    with pytest.raises(CommandError, match="not valid JSON"):
        _cli("fork", pipeline_run.thread_id, "--at", "3", "--set", "{pages", "--actor", "engineer")


def test_the_cli_diff_prints_paths_and_json(pipeline_run):
    text = _cli("diff", pipeline_run.thread_id, "--from", "4", "--to", "5")
    assert "changed  category" in text and "added    trail[4]" in text

    changes = json.loads(_cli("diff", pipeline_run.thread_id, "--from", "4", "--to", "5", "--json"))
    assert {c["path"]: c["kind"] for c in changes} == {"category": "changed", "trail[4]": "added"}
    with pytest.raises(CommandError, match="checkpoints 0 to 12"):
        _cli("diff", pipeline_run.thread_id, "--from", "0", "--to", "40")


def test_the_api_forks_and_names_the_bad_field(engineer_api, pipeline_run):
    url = f"/api/runs/{pipeline_run.thread_id}/fork"
    created = engineer_api.post(url, data={"at_step": 3, "edits": {"language": "de"}}, content_type="application/json")
    assert created.status_code == 201
    assert created.json()["parent"] == pipeline_run.thread_id and created.json()["replay_mode"] == "recorded"

    refused = engineer_api.post(url, data={"at_step": 3, "edits": {"pages": 0}}, content_type="application/json")
    assert refused.status_code == 422
    assert refused.json()["fields"] == {"edits.pages": "must be at least 1"}


def test_the_api_diffs_two_checkpoints(engineer_api, pipeline_run):
    response = engineer_api.get(f"/api/runs/{pipeline_run.thread_id}/diff?from=6&to=7")
    assert response.status_code == 200
    assert [c["path"] for c in response.json()["changes"]] == ["summary", "trail[6]"]
    assert engineer_api.get(f"/api/runs/{pipeline_run.thread_id}/diff?from=6&to=99").status_code == 404


def test_the_api_refuses_a_reviewer(client_for, reviewer_user, pipeline_run):
    client = client_for(reviewer_user)
    assert client.get(f"/api/runs/{pipeline_run.thread_id}/diff?from=1&to=2").status_code == 403
    assert client.post(f"/api/runs/{pipeline_run.thread_id}/fork", data={"at_step": 1},
                       content_type="application/json").status_code == 403
