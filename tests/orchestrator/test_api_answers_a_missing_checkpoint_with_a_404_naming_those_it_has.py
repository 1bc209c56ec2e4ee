"""/state and /diff answer a checkpoint the run does not have alike: a 404 that names the parameter and
the checkpoints the run has; a value that is not a checkpoint number is a 422 naming the parameter, as
any query value the schema refuses; a run whose history retention pruned is a 410 for both. Before,
/state answered 400 where /diff answered 404, and /diff called a pruned run's checkpoints missing."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(("query", "detail"), [
    ("/state?step=7", "step=7 is not a checkpoint of run {run}: it has checkpoints 0 to 2; send a number in that "
                      "range, or leave step out for the latest."),
    ("/diff?from=7&to=1", "from=7 is not a checkpoint of run {run}: it has checkpoints 0 to 2; send a number in "
                          "that range."),
    ("/diff?from=0&to=3", "to=3 is not a checkpoint of run {run}: it has checkpoints 0 to 2; send a number in "
                          "that range."),
])
def test_a_checkpoint_the_run_does_not_have_is_a_404_naming_those_it_has(api, engineer_user, waiting, query,
                                                                         detail):
    response = api(engineer_user).get(f"/api/runs/{waiting.thread_id}{query}")

    assert response.status_code == 404
    assert response.json() == {"detail": detail.format(run=waiting.thread_id)}


@pytest.mark.parametrize(("query", "fields"), [
    ("/state?step=-1", {"?step": "must be at least 0"}),
    ("/diff?from=-1&to=1", {"?from": "must be at least 0"}),
    ("/state?step=two", {"?step": "must be a whole number, e.g. 3"}),
    ("/diff?from=0&to=two", {"?to": "must be a whole number, e.g. 3"}),
])
def test_a_value_that_is_not_a_checkpoint_number_is_a_422_for_both(api, engineer_user, waiting, query, fields):
    response = api(engineer_user).get(f"/api/runs/{waiting.thread_id}{query}")

    assert response.status_code == 422 and response.json()["fields"] == fields


def test_both_read_the_same_checkpoints(api, engineer_user, waiting):
    client = api(engineer_user)

    changes = client.get(f"/api/runs/{waiting.thread_id}/diff?from=0&to=1").json()["changes"]
    before = client.get(f"/api/runs/{waiting.thread_id}/state?step=0").json()["state"]
    after = client.get(f"/api/runs/{waiting.thread_id}/state?step=1").json()["state"]

    by_path = {c["path"]: (c["before"], c["after"]) for c in changes}
    assert by_path["subject"] == (before["subject"], after["subject"]) and by_path["body"] == (before["body"],
                                                                                              after["body"])


def test_a_pruned_runs_diff_is_a_410_like_its_state(pruned_run, api, engineer_user):
    run = pruned_run
    client = api(engineer_user)

    state = client.get(f"/api/runs/{run.thread_id}/state?step=1")
    diff = client.get(f"/api/runs/{run.thread_id}/diff?from=0&to=1")

    assert state.status_code == diff.status_code == 410
    assert diff.json() == state.json() and "pruned by retention" in diff.json()["detail"]
