"""A fork form (or API call, or regression batch) sent twice makes one fork: the request key it
carries names the fork, so a double click, a browser resend or a client retry after a timeout finds
the fork the first send made instead of forking (and running side effects) again."""

from __future__ import annotations

import re

import pytest

from orchestrator.forks import ForkError, RequestKeyReused, run_fork
from orchestrator.models import Run
from orchestrator.request_keys import form_request_key
from tests.interleave import at_once


def test_the_fork_form_sent_twice_makes_one_fork(client_for, engineer_user, pipeline_run):
    client = client_for(engineer_user)
    url = f"/runs/{pipeline_run.thread_id}/checkpoints/3/fork/"
    key = re.search(r'name="request_key" value="([0-9a-f]+)"', client.get(url).content.decode()).group(1)
    form = {"field_pages": "31", "mode": "recorded", "request_key": key}

    first, second = client.post(url, form), client.post(url, form)

    assert first.status_code == second.status_code == 302 and first["Location"] == second["Location"]
    assert Run.objects.filter(parent=pipeline_run).count() == 1
    # A new render is a new request: forking again on purpose still works.
    again = re.search(r'name="request_key" value="([0-9a-f]+)"', client.get(url).content.decode()).group(1)
    assert again != key
    client.post(url, {**form, "request_key": again})
    assert Run.objects.filter(parent=pipeline_run).count() == 2


def test_two_sends_racing_each_other_make_one_fork(pipeline_run, engineer_user):
    key = form_request_key()

    made = at_once(lambda: run_fork(run=pipeline_run, at_step=3, edits={"pages": 31}, actor=engineer_user,
                                    request_key=key).thread_id)

    assert made[0] == made[1]
    assert Run.objects.filter(parent=pipeline_run).count() == 1


def test_the_api_returns_the_same_fork_for_the_same_request_key(client_for, engineer_user, pipeline_run):
    body = {"at_step": 3, "edits": {"pages": 31}, "request_key": "0123456789ab"}
    url = f"/api/runs/{pipeline_run.thread_id}/fork"
    client = client_for(engineer_user)
    first = client.post(url, body, content_type="application/json")
    second = client.post(url, body, content_type="application/json")
    assert first.status_code == second.status_code == 201
    assert first.json()["thread_id"] == second.json()["thread_id"]
    assert Run.objects.filter(parent=pipeline_run).count() == 1


def test_a_malformed_request_key_is_refused(pipeline_run, engineer_user):
    with pytest.raises(ForkError, match="8 to 16 lowercase hex"):
        run_fork(run=pipeline_run, at_step=3, actor=engineer_user, request_key="../../x")
    assert not Run.objects.filter(parent=pipeline_run).exists()


def test_a_regression_batch_sent_twice_starts_one_batch(client_for, engineer_user, pipeline_run):
    client = client_for(engineer_user)
    page = client.get("/runs/regression/?workflow=document_pipeline&status=completed").content.decode()
    key = re.search(r'name="request_key" value="([0-9a-f]+)"', page).group(1)
    form = {"workflow": "document_pipeline", "status": "completed", "node": "summarize", "model": "demo-large",
            "limit": "10", "request_key": key}

    first, second = client.post("/runs/regression/", form), client.post("/runs/regression/", form)

    assert first.status_code == second.status_code == 302 and first["Location"] == second["Location"]
    assert Run.objects.filter(parent=pipeline_run).count() == 1


def test_a_key_sent_back_with_other_settings_is_refused_and_the_form_gets_a_new_one(client_for, engineer_user,
                                                                                    pipeline_run):
    # The browser's Back restores the form, key included; changing the edits must not answer
    # with the fork the first send made.
    client = client_for(engineer_user)
    url = f"/runs/{pipeline_run.thread_id}/checkpoints/3/fork/"
    key = re.search(r'name="request_key" value="([0-9a-f]+)"', client.get(url).content.decode()).group(1)
    client.post(url, {"field_pages": "31", "mode": "recorded", "request_key": key})

    back = client.post(url, {"field_pages": "32", "mode": "recorded", "request_key": key})

    html = back.content.decode()
    assert back.status_code == 422 and "already made" in html and "with other settings" in html
    fresh = re.search(r'name="request_key" value="([0-9a-f]+)"', html).group(1)
    typed = re.search(r'<textarea id="field_pages"[^>]*>(.*?)</textarea>', html, re.S).group(1).strip()
    assert fresh != key and typed == "32"  # the changed value is kept
    again = client.post(url, {"field_pages": "32", "mode": "recorded", "request_key": fresh})
    assert again.status_code == 302
    assert Run.objects.filter(parent=pipeline_run).count() == 2


def test_the_api_answers_a_reused_key_with_other_settings_with_409(client_for, engineer_user, pipeline_run):
    url = f"/api/runs/{pipeline_run.thread_id}/fork"
    client = client_for(engineer_user)
    client.post(url, {"at_step": 3, "edits": {"pages": 31}, "request_key": "00000000aaaa"},
                content_type="application/json")
    other = client.post(url, {"at_step": 3, "edits": {"pages": 32}, "request_key": "00000000aaaa"},
                        content_type="application/json")
    assert other.status_code == 409 and "with other settings" in other.json()["detail"]
    with pytest.raises(RequestKeyReused):
        run_fork(run=pipeline_run, at_step=4, actor=engineer_user, request_key="00000000aaaa")
    assert Run.objects.filter(parent=pipeline_run).count() == 1


def test_a_batch_key_sent_back_with_another_model_starts_nothing(client_for, engineer_user, pipeline_run):
    client = client_for(engineer_user)
    form = {"workflow": "document_pipeline", "status": "completed", "node": "summarize", "model": "demo-large",
            "limit": "10", "request_key": "1234567890ab"}
    assert client.post("/runs/regression/", form).status_code == 302
    other = client.post("/runs/regression/", {**form, "model": "demo-small"})
    assert other.status_code == 422 and "with other settings" in other.content.decode()
    assert Run.objects.filter(parent=pipeline_run).count() == 1
