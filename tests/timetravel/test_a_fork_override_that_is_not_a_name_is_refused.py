"""A fork's model or prompt version is a name the engine hands to ctx.llm: a number, a list or a pasted
document there would fail the fork at its first call, and again on every retry. It is refused naming the
setting's key path and what a name looks like, and nothing is forked."""

from __future__ import annotations

import pytest

from tests.timetravel.conftest import no_fork_was_made


@pytest.mark.parametrize(("setting", "value"), [("model", 5), ("prompt_version", ["v2"]), ("model", "x" * 201)],
                         ids=["number", "list", "document"])
def test_the_api_refuses_it_naming_the_setting(engineer_api, pipeline_run, setting, value):
    response = engineer_api.post(f"/api/runs/{pipeline_run.thread_id}/fork", {
        "at_step": 3, "overrides": {"nodes": {"summarize": {setting: value}}}}, content_type="application/json")

    assert response.status_code == 422, response.content
    assert response.json()["fields"] == {
        f"overrides.nodes.summarize.{setting}": 'must be text of at most 200 characters, e.g. "demo-large" or "v2"'}
    no_fork_was_made(pipeline_run)


def test_a_name_of_200_characters_is_taken(engineer_api, pipeline_run):
    response = engineer_api.post(f"/api/runs/{pipeline_run.thread_id}/fork", {
        "at_step": 3, "overrides": {"nodes": {"summarize": {"prompt_version": "v" * 200}}}},
        content_type="application/json")
    assert response.status_code == 201, response.content
