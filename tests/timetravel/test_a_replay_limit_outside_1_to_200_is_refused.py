"""Regression replay's "At most" (how many of the matching runs to replay) takes 1 to 200. A number outside
was read as the nearest of the two without a word: -5 or 0 became 1, so "At most 0" showed one run ready
to replay and replayed it, under a box still saying 0; 500 became 200. Such a number is now refused on
the box, as text that is no number is, and nothing is replayed."""

from __future__ import annotations

import pytest

from orchestrator.models import Run, RunStatus
from orchestrator.services import run_start

URL = "/runs/regression/"
LIMIT_ERROR = "a number of runs from 1 to 200"


@pytest.fixture
def three_runs(db) -> None:
    for _ in range(3):
        Run.objects.filter(pk=run_start(workflow="document_pipeline").pk).update(status=RunStatus.COMPLETED)


@pytest.mark.parametrize("limit", ["-5", "0", "201", "500"])
def test_the_box_is_marked_and_a_replay_is_refused(client_for, engineer_user, three_runs, limit):
    client = client_for(engineer_user)

    shown = client.get(URL, {"workflow": "document_pipeline", "limit": limit}).content.decode()
    sent = client.post(URL, {"workflow": "document_pipeline", "node": "summarize", "model": "demo-large",
                             "limit": limit})

    assert LIMIT_ERROR in shown and f'name="limit" value="{limit}"' in shown
    assert sent.status_code == 422 and LIMIT_ERROR in sent.content.decode()
    assert Run.objects.count() == 3, "nothing was replayed"


@pytest.mark.parametrize("limit", ["1", "200", " 2 "])
def test_a_number_from_1_to_200_is_taken(client_for, engineer_user, three_runs, limit):
    shown = client_for(engineer_user).get(URL, {"workflow": "document_pipeline", "limit": limit}).content.decode()

    assert LIMIT_ERROR not in shown
