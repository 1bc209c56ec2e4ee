"""Every cost the API answers with is written the one way, to the millionth of a dollar as the database
keeps it: a run's summary (start, fork, GET, a decision's run), each checkpoint's and an item's spend.
Before, a run's start (and a fork's) said "0" where GET said "0.000000" for the same run, so a client
comparing or parsing them saw two values."""

from __future__ import annotations

import json
import re

from orchestrator.executor import run_advance
from orchestrator.models import Run
from review.models import ReviewItem

MILLIONTHS = re.compile(r"[0-9]+\.[0-9]{6}")


def test_start_fork_and_get_write_a_runs_cost_alike(api, engineer_user):
    client = api(engineer_user)

    started = client.post("/api/runs", json.dumps({"workflow": "email_approval", "input": {
        "to": "ana@example.com", "topic": "Q3"}}), content_type="application/json").json()
    read = client.get(f"/api/runs/{started['thread_id']}").json()

    assert started["cost"] == read["cost"] == "0.000000"
    run_advance(Run.objects.get(thread_id=started["thread_id"]).pk, worker="test")
    forked = client.post(f"/api/runs/{started['thread_id']}/fork", json.dumps({"at_step": 1}),
                         content_type="application/json").json()
    assert forked["cost"] == client.get(f"/api/runs/{forked['thread_id']}").json()["cost"] == "0.000000"


def test_a_run_that_spent_checkpoints_and_its_item_write_the_millionth(api, engineer_user, reviewer_user):
    client = api(engineer_user)
    thread_id = client.post("/api/runs", json.dumps({"workflow": "email_approval", "input": {
        "to": "ana@example.com", "topic": "Q3"}}), content_type="application/json").json()["thread_id"]
    run = Run.objects.get(thread_id=thread_id)
    assert run_advance(run.pk, worker="test") == "suspended"
    run.refresh_from_db()
    assert run.cost > 0  # the draft's model call was priced

    summary = client.get(f"/api/runs/{thread_id}").json()
    costs = [cp["cost"] for cp in client.get(f"/api/runs/{thread_id}/checkpoints").json()]
    item = api(reviewer_user).get(f"/api/items/{ReviewItem.objects.get(run=run).pk}").json()

    assert summary["cost"] == f"{run.cost:.6f}" == item["spend"]["cost"]
    assert costs and all(MILLIONTHS.fullmatch(cost) for cost in costs), costs
