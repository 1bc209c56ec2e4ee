"""GET /api/blobs/{sha}: a client that read a state by token (GET /api/runs/{id}/state returns big
values as {"$blob": sha256} pointers) fetches the value's bytes with the same token, as the
checkpoint page's download link serves them to a signed-in engineer. Other roles get one 403
whether the blob exists or not; an unknown or malformed name is a 404 saying what to send."""

from __future__ import annotations

import json

import pytest

from orchestrator.blobs import blob_get
from orchestrator.executor import run_advance
from orchestrator.services import run_start


@pytest.fixture
def corpus_pointer(db) -> dict:
    run = run_start(workflow="document_pipeline", input={"pages": 80})
    assert run_advance(run.pk, worker="test") == "completed"
    from orchestrator.history import state_at

    run.refresh_from_db()
    return state_at(run.pk, run.step)["corpus"]


def test_a_token_client_follows_a_state_pointer_to_its_bytes(api, engineer_user, corpus_pointer):
    response = api(engineer_user).get(f"/api/blobs/{corpus_pointer['$blob']}")

    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body == blob_get(corpus_pointer["$blob"]) and len(body) == corpus_pointer["size"]
    assert json.loads(body)  # the stored value, as JSON
    assert response["Content-Type"] == "application/octet-stream"  # never rendered
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("name", ["0" * 64, "not-a-sha", "ab..cd"])
def test_an_unknown_or_malformed_name_is_a_404_saying_what_to_send(api, engineer_user, name):
    response = api(engineer_user).get(f"/api/blobs/{name}")

    assert response.status_code == 404
    assert "sha256 of a state value's" in response.json()["detail"]


def test_reviewers_and_compliance_get_one_403_whether_or_not_it_exists(api, reviewer_user, compliance_user,
                                                                         corpus_pointer):
    for user in (reviewer_user, compliance_user):
        known = api(user).get(f"/api/blobs/{corpus_pointer['$blob']}")
        unknown = api(user).get(f"/api/blobs/{'0' * 64}")
        assert known.status_code == unknown.status_code == 403
        assert known.json() == unknown.json()
