"""Every run endpoint finds a run by one rule (orchestrator.services.run_get, for GET /api/runs/{id} as
for the others): its thread id, else its database id; and text no thread id can be (what run_start
refuses to create: a space, a NUL, more than 200 characters, a leading "-") is answered as an unknown run
without being looked up. Before, run_get kept its own guard (a NUL) beside the thread-id rule."""

from __future__ import annotations

import json

import pytest

from orchestrator.services import RunError, run_get

READS = ["", "/state", "/checkpoints", "/diff?from=0&to=1"]


def test_every_read_finds_the_run_by_its_thread_id_or_its_database_id(api, engineer_user, waiting):
    client = api(engineer_user)

    for suffix in READS:
        by_thread = client.get(f"/api/runs/{waiting.thread_id}{suffix}")
        by_number = client.get(f"/api/runs/{waiting.pk}{suffix}")
        assert by_thread.status_code == by_number.status_code == 200, suffix
        assert by_thread.json() == by_number.json(), suffix


def test_a_reviewer_finds_the_run_they_decide_by_either_id_too(api, reviewer_user, waiting):
    client = api(reviewer_user)

    assert client.get(f"/api/runs/{waiting.pk}").json() == client.get(f"/api/runs/{waiting.thread_id}").json()
    decided = client.post(f"/api/runs/{waiting.pk}/decision", json.dumps({"decision": "approve"}),
                          content_type="application/json")
    assert decided.status_code == 200 and decided.json()["run"]["thread_id"] == waiting.thread_id


@pytest.mark.parametrize("thread_id", ["two words", "-leading-dash", "t" * 201, "a\x00b"])
def test_text_no_thread_id_can_be_is_no_run_and_is_not_looked_up(db, django_assert_num_queries, thread_id):
    with django_assert_num_queries(0), pytest.raises(RunError, match="no run with thread id"):
        run_get(thread_id)


@pytest.mark.parametrize("suffix", READS)
def test_every_endpoint_answers_it_as_an_unknown_run(api, engineer_user, waiting, suffix):
    response = api(engineer_user).get(f"/api/runs/two%20words{suffix}")

    assert response.status_code == 404
    assert response.json() == {"detail": "no run with thread id 'two words'; list runs with `python manage.py runs list`."}
