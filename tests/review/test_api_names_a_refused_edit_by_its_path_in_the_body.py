"""A refused edit on the API is named where it is in the request body: `fields` has `edits.attempts`,
`edits.email.cc[1]`, on POST /api/runs/{id}/decision, /api/items/{id}/decision and /api/runs/{id}/fork
alike, and a fork's refused override names its key under `overrides` (`overrides.nodes.nope`,
`overrides.step_cap`). Before, the state field was named bare (`{"attempts": …}`), which the body does
not have, and a refused override was named `override_node`, a key no request sends. The pages still mark
the field of their form (tests/review/test_an_edit_*, tests/timetravel/test_a_fork_edit_*)."""

from __future__ import annotations

import pytest
from django.conf import settings

from orchestrator.forks import FORK_STEP_CAP_FACTOR
from orchestrator.models import Run
from review.models import ReviewItem
from tests.review.fixtures import nothing_was_decided

MISSPELT_KEY = "is not a field the workflow knows; remove it (email has subject, body, cc)"


def _decide(api, user, item: ReviewItem, endpoint: str, edits: dict):
    url = (f"/api/runs/{item.run.thread_id}/decision" if endpoint == "runs"
           else f"/api/items/{item.pk}/decision")
    return api(user).post(url, {"decision": "edit", "edits": edits}, content_type="application/json")


@pytest.mark.parametrize("endpoint", ["runs", "items"])
def test_a_refused_value_is_named_under_edits(outreach_item, reviewer_user, api, endpoint):
    item = outreach_item()

    response = _decide(api, reviewer_user, item, endpoint, {"attempts": "3", "urgent": True})

    assert response.status_code == 422
    assert response.json()["fields"] == {"edits.attempts": "must be a whole number without quotes, not '3'"}
    nothing_was_decided(item)


@pytest.mark.parametrize("endpoint", ["runs", "items"])
def test_a_refused_value_inside_an_edited_object_is_named_by_its_whole_path(outreach_item, reviewer_user, api,
                                                                          endpoint):
    item = outreach_item()

    response = _decide(api, reviewer_user, item, endpoint, {
        "email": {"subject": "Q3", "bdy": "Hi", "cc": ["cfo@example.com", 5]}})

    assert response.status_code == 422
    fields = response.json()["fields"]
    assert set(fields) == {"edits.email.cc[1]", "edits.email.bdy"}
    assert fields["edits.email.cc[1]"].startswith("must be text")
    assert fields["edits.email.bdy"] == MISSPELT_KEY
    nothing_was_decided(item)


def test_a_field_the_gate_does_not_let_anyone_edit_is_named_under_edits(outreach_item, reviewer_user, api):
    item = outreach_item()

    response = _decide(api, reviewer_user, item, "items", {"sent": True})

    assert response.status_code == 422
    assert response.json()["fields"] == {"edits.sent": "not an editable argument of this gate"}


def _fork(api, user, run: Run, **body):
    return api(user).post(f"/api/runs/{run.thread_id}/fork", {"at_step": 1, **body},
                          content_type="application/json")


def test_a_fork_s_refused_edit_is_named_under_edits(outreach_item, engineer_user, api):
    run = outreach_item().run

    response = _fork(api, engineer_user, run, edits={"attempts": 11, "email": {"subject": "Q3", "bdy": "Hi"}})

    assert response.status_code == 422
    assert response.json()["fields"] == {"edits.attempts": "must be at most 10", "edits.email.bdy": MISSPELT_KEY}
    assert Run.objects.filter(parent=run).count() == 0


def test_a_fork_s_override_of_an_unknown_node_names_it_under_overrides(outreach_item, engineer_user, api):
    run = outreach_item().run

    response = _fork(api, engineer_user, run, overrides={"nodes": {"nope": {"model": "demo-large"}}})

    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["overrides.nodes.nope"]
    assert "not a node of this workflow" in response.json()["fields"]["overrides.nodes.nope"]
    assert "override_node" not in response.text


def test_a_fork_s_override_of_an_unknown_setting_names_the_setting(outreach_item, engineer_user, api):
    run = outreach_item().run

    response = _fork(api, engineer_user, run, overrides={"nodes": {"prepare": {"modle": "demo-large"}}})

    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["overrides.nodes.prepare.modle"]
    assert "model" in response.json()["fields"]["overrides.nodes.prepare.modle"]


def test_a_fork_s_step_cap_out_of_range_is_named_under_overrides(outreach_item, engineer_user, api):
    run = outreach_item().run

    response = _fork(api, engineer_user, run, overrides={"step_cap": 0})

    ceiling = FORK_STEP_CAP_FACTOR * settings.GATEHOUSE_STEP_CAP
    assert response.status_code == 422
    assert response.json()["fields"] == {"overrides.step_cap": f"a whole number from 1 to {ceiling:,}"}
