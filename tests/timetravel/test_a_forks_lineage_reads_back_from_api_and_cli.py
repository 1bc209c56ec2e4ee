"""A fork's lineage (parent, forked_from_step, replay_mode, allow_effects, overrides, diverged_at_step) reads
back from GET /api/runs/{id} and `runs show` as the fork request's answer gave it, and follows the fork as it
runs (where a recorded fork first called a model live). Before, only the 201 of the fork request said how
the fork was made, and part of it: reading the run back gave its parent alone."""

from __future__ import annotations

import json

from orchestrator.models import Run

LINEAGE = ("parent", "forked_from_step", "replay_mode", "allow_effects", "overrides", "diverged_at_step")
OVERRIDES = {"nodes": {"summarize": {"model": "demo-large"}}, "step_cap": 50}


def _lineage(summary: dict) -> dict:
    return {key: summary[key] for key in LINEAGE}


def test_the_api_reads_back_the_lineage_the_fork_request_answered(engineer_api, pipeline_run, advance_run):
    created = engineer_api.post(f"/api/runs/{pipeline_run.thread_id}/fork", data={
        "at_step": 3, "mode": "recorded", "overrides": OVERRIDES}, content_type="application/json")
    assert created.status_code == 201, created.content
    fork_id = created.json()["thread_id"]

    read_back = engineer_api.get(f"/api/runs/{fork_id}").json()

    assert _lineage(created.json()) == _lineage(read_back) == {
        "parent": pipeline_run.thread_id, "forked_from_step": 3, "replay_mode": "recorded", "allow_effects": False,
        "overrides": OVERRIDES, "diverged_at_step": None}
    fork = advance_run(Run.objects.get(thread_id=fork_id))
    assert fork.diverged_at_step is not None  # summarize asked another model: its call was made live
    assert engineer_api.get(f"/api/runs/{fork_id}").json()["diverged_at_step"] == fork.diverged_at_step
    assert _lineage(engineer_api.get(f"/api/runs/{pipeline_run.thread_id}").json()) == {
        "parent": None, "forked_from_step": None, "replay_mode": None, "allow_effects": True, "overrides": {},
        "diverged_at_step": None}  # not a fork: its side effects are real


def test_runs_show_prints_the_lineage(engineer_api, pipeline_run, manage):
    fork_id = engineer_api.post(f"/api/runs/{pipeline_run.thread_id}/fork", data={
        "at_step": 3, "mode": "live", "overrides": OVERRIDES}, content_type="application/json").json()["thread_id"]

    shown = json.loads(manage("runs", "show", fork_id, "--json").stdout)
    lines = manage("runs", "show", fork_id).stdout.splitlines()

    assert _lineage(shown) == {"parent": pipeline_run.thread_id, "forked_from_step": 3, "replay_mode": "live",
                               "allow_effects": False, "overrides": OVERRIDES, "diverged_at_step": None}
    rows = {line.split(":", 1)[0].strip(): line.split(":", 1)[1].strip() for line in lines}
    assert rows["parent"] == pipeline_run.thread_id and rows["forked_from_step"] == "3"
    assert rows["replay_mode"] == "live" and rows["allow_effects"] == "False" and rows["diverged_at_step"] == "-"
    assert json.loads(rows["overrides"]) == OVERRIDES  # as JSON, the shape a fork takes
    assert len({line.index(":") for line in lines}) == 1, lines  # the new labels line up with the others
    parent_rows = manage("runs", "show", pipeline_run.thread_id).stdout
    assert "overrides: -" in parent_rows and "replay_mode: -" in parent_rows
