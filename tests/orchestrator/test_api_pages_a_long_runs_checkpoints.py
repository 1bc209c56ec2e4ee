"""GET /api/runs/{id}/checkpoints answers a page at a time: `?after_step=N` (the checkpoints after step N;
left out, from step 0) and `?limit=` (1 to 1000, 1000 when left out), in step order, still a JSON list, with
an RFC 8288 `Link: <…>; rel="next"` header while more remain. Before, a 10,000-step run was one answer
holding every checkpoint, all read from the database at once."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orchestrator.executor import run_advance
from orchestrator.models import Checkpoint, Run
from orchestrator.services import run_start

_NEXT = re.compile(r'^<([^>]+)>; rel="next"$')


@pytest.fixture
def pipeline(db, engineer_user) -> Run:
    """A completed document_pipeline run: checkpoints 0 (the input) to 12."""
    run = run_start(workflow="document_pipeline", input={"pages": 2}, actor=engineer_user)
    assert run_advance(run.pk, worker="test") == "completed"
    run.refresh_from_db()
    assert run.step == 12
    return run


def _next(response) -> str | None:
    link = response.headers.get("Link")
    if link is None:
        return None
    found = _NEXT.match(link)
    assert found, link
    return found.group(1)


def test_without_parameters_it_answers_the_whole_list_as_before_and_no_link(api, engineer_user, pipeline):
    response = api(engineer_user).get(f"/api/runs/{pipeline.thread_id}/checkpoints")

    assert response.status_code == 200, response.content
    assert [cp["step"] for cp in response.json()] == list(range(13))
    assert response.json()[0]["source"] == "input" and "cost" in response.json()[0]
    assert "Link" not in response.headers


def test_following_the_next_links_reads_every_checkpoint_once_in_order(api, engineer_user, pipeline):
    client = api(engineer_user)
    whole = client.get(f"/api/runs/{pipeline.thread_id}/checkpoints").json()

    url: str | None = f"/api/runs/{pipeline.thread_id}/checkpoints?limit=5"
    pages, links = [], []
    while url is not None:
        response = client.get(url)
        assert response.status_code == 200, response.content
        pages.append([cp["step"] for cp in response.json()])
        url = _next(response)
        links.append(url)

    assert pages == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11, 12]]
    assert [cp for page in pages for cp in page] == [cp["step"] for cp in whole]
    # Each next page carries the same limit and the last step of the page it follows.
    first, second, last = links
    assert first.startswith(f"/api/runs/{pipeline.thread_id}/checkpoints?")
    assert sorted(first.split("?", 1)[1].split("&")) == ["after_step=4", "limit=5"]
    assert sorted(second.split("?", 1)[1].split("&")) == ["after_step=9", "limit=5"]
    assert last is None  # the last page has no Link


def test_after_step_starts_after_that_checkpoint(api, engineer_user, pipeline):
    client = api(engineer_user)

    after = client.get(f"/api/runs/{pipeline.thread_id}/checkpoints?after_step=9")
    assert [cp["step"] for cp in after.json()] == [10, 11, 12] and "Link" not in after.headers
    exactly = client.get(f"/api/runs/{pipeline.thread_id}/checkpoints?after_step=8&limit=4")
    assert [cp["step"] for cp in exactly.json()] == [9, 10, 11, 12] and "Link" not in exactly.headers
    past_the_end = client.get(f"/api/runs/{pipeline.thread_id}/checkpoints?after_step=12")
    assert past_the_end.status_code == 200 and past_the_end.json() == []
    assert "Link" not in past_the_end.headers


def test_a_run_found_by_its_database_id_links_to_its_next_page_too(api, engineer_user, pipeline):
    response = api(engineer_user).get(f"/api/runs/{pipeline.pk}/checkpoints?limit=12")

    assert [cp["step"] for cp in response.json()] == list(range(12))
    assert api(engineer_user).get(_next(response)).json()[0]["step"] == 12


@pytest.mark.parametrize("limit", ["0", "1001", "-3"])
def test_a_limit_out_of_range_is_a_422_naming_it_and_the_range(api, engineer_user, pipeline, limit):
    response = api(engineer_user).get(f"/api/runs/{pipeline.thread_id}/checkpoints?limit={limit}")

    assert response.status_code == 422
    assert set(response.json()["fields"]) == {"?limit"}
    assert "from 1 to 1000" in response.json()["fields"]["?limit"]
    assert "?limit" in response.json()["detail"]


def test_a_limit_or_after_step_that_is_not_a_whole_number_is_a_422_naming_it(api, engineer_user, pipeline):
    response = api(engineer_user).get(f"/api/runs/{pipeline.thread_id}/checkpoints?limit=ten&after_step=x")

    assert response.status_code == 422
    assert set(response.json()["fields"]) == {"?limit", "?after_step"}
    assert response.json()["fields"]["?limit"].startswith("must be a whole number")


def test_a_negative_after_step_is_a_422_saying_to_leave_it_out(api, engineer_user, pipeline):
    response = api(engineer_user).get(f"/api/runs/{pipeline.thread_id}/checkpoints?after_step=-1")

    assert response.status_code == 422
    assert "leave it out" in response.json()["fields"]["?after_step"]


def test_a_page_is_at_most_1000_checkpoints_and_only_the_page_is_read(api, engineer_user, pipeline):
    # Checkpoints 13 to 2011, written directly: the engine would take minutes to make a run this long.
    Checkpoint.objects.bulk_create(Checkpoint(run=pipeline, step=step, node="step", source="node")
                                   for step in range(13, 2012))
    client = api(engineer_user)

    with CaptureQueriesContext(connection) as queries:
        first = client.get(f"/api/runs/{pipeline.thread_id}/checkpoints")

    assert [cp["step"] for cp in first.json()] == list(range(1000))
    read = [q["sql"] for q in queries.captured_queries if 'FROM "orchestrator_checkpoint"' in q["sql"]]
    assert len(read) == 1 and "LIMIT 1001" in read[0]  # the page (and one more, to know more remain)
    assert '"snapshot"' not in read[0]  # nor every checkpoint's whole state
    second = client.get(_next(first))
    assert [cp["step"] for cp in second.json()] == list(range(1000, 2000))
    third = client.get(_next(second))
    assert [cp["step"] for cp in third.json()] == list(range(2000, 2012)) and _next(third) is None
