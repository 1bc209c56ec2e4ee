"""A request body's values are read as their JSON type and nothing else: a boolean is true or false, a
number is a number. Before, `"allow_effects": "yes"` (or "on", or 1) was read as true, so an admin's
fork acted for real on a value they may have meant otherwise, and "3" was the checkpoint 3. Now each is
a 422 naming the key, and nothing is done."""

from __future__ import annotations

import json

import pytest

from orchestrator.models import Run, RunStatus
from review.models import ReviewItem


def _post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


@pytest.mark.parametrize("sent", ["yes", "true", "on", 1])
def test_allow_effects_must_be_true_or_false(api, admin_user, waiting, sent):
    response = _post(api(admin_user), f"/api/runs/{waiting.thread_id}/fork", {"at_step": 0, "allow_effects": sent})

    assert response.status_code == 422, response.content
    assert response.json()["fields"] == {"allow_effects": "must be true or false"}
    assert Run.objects.count() == 1, "no fork was made"


def test_force_version_must_be_true_or_false(api, engineer_user, waiting):
    Run.objects.filter(pk=waiting.pk).update(status=RunStatus.FAILED)

    response = _post(api(engineer_user), f"/api/runs/{waiting.thread_id}/retry", {"force_version": "false"})

    assert response.status_code == 422
    assert response.json()["fields"] == {"force_version": "must be true or false"}
    assert Run.objects.get(pk=waiting.pk).status == RunStatus.FAILED


def test_takeover_must_be_true_or_false(api, reviewer_user, waiting):
    item = ReviewItem.objects.get(run=waiting)

    response = _post(api(reviewer_user), f"/api/items/{item.pk}/claim", {"takeover": "no"})

    assert response.status_code == 422
    assert response.json()["fields"] == {"takeover": "must be true or false"}
    assert ReviewItem.objects.get(pk=item.pk).claimed_by is None


def test_a_number_sent_as_text_is_not_read_as_one(api, engineer_user, reviewer_user, waiting):
    fork = _post(api(engineer_user), f"/api/runs/{waiting.thread_id}/fork", {"at_step": "0"})
    bulk = _post(api(reviewer_user), "/api/items/bulk", {"ids": [str(ReviewItem.objects.get(run=waiting).pk)],
                                                         "decision": "approve"})

    assert (fork.status_code, fork.json()["fields"]) == (422, {"at_step": "must be a whole number, e.g. 3"})
    assert (bulk.status_code, bulk.json()["fields"]) == (422, {"ids[0]": "must be a whole number, e.g. 3"})
    assert Run.objects.count() == 1 and ReviewItem.objects.get(run=waiting).status == "pending"


def test_true_and_false_still_work(api, admin_user, waiting):
    response = _post(api(admin_user), f"/api/runs/{waiting.thread_id}/fork", {"at_step": 0, "allow_effects": False})

    assert response.status_code == 201, response.content
    assert response.json()["allow_effects"] is False
