"""A fork's state edit may not contain a blob pointer (a "$blob" key), as a gate's edit may not: a
forged one would make the fork read whatever stored document it names, another run's included.
Refused through the fork form and the API alike, naming the key path. A pointer the run already
holds still forks: with its field left as it was, and with the rest of that field edited around it."""

from __future__ import annotations

import json

import pytest

from orchestrator.history import state_at
from orchestrator.models import Run
from orchestrator.services import run_start


@pytest.fixture
def two_filings(register_workflows, transactional_db, advance_run):
    """Two finished filings: ours, and another run whose document the forged pointer names."""
    register_workflows("tests.timetravel.graphs")
    ours = advance_run(run_start(workflow="filing", input={"text": "our quarterly note"}))
    theirs = advance_run(run_start(workflow="filing", input={"text": "SOMEONE ELSE'S SECRET CONTRACT"}))
    assert (ours.status, theirs.status) == ("completed", "completed")
    return ours, theirs


def _forged(theirs: Run) -> dict:
    return state_at(theirs.pk, 1)["document"]["file"]  # {"$blob": <their sha>, "size": …, "type": …}


def test_the_api_refuses_a_forged_pointer_and_names_its_path(two_filings, engineer_api):
    ours, theirs = two_filings

    refused = engineer_api.post(f"/api/runs/{ours.thread_id}/fork", {"at_step": 1, "edits": {"document": {
        "name": "note.txt", "file": _forged(theirs)}}}, content_type="application/json")

    assert refused.status_code == 422
    assert "document.file.$blob" in refused.json()["detail"]
    assert "reserved for the engine's pointers" in refused.json()["detail"]
    assert list(refused.json()["fields"]) == ["edits.document.file.$blob"]
    assert not Run.objects.filter(parent=ours).exists()


def test_the_fork_form_refuses_a_forged_pointer_nested_in_a_list(two_filings, client_for, engineer_user):
    ours, theirs = two_filings
    url = f"/runs/{ours.thread_id}/checkpoints/1/fork/"

    page = client_for(engineer_user).post(url, {"field_document": json.dumps({"copies": [_forged(theirs)]}),
                                                "mode": "recorded"})

    html = page.content.decode()
    assert page.status_code == 422
    assert "document.copies[0].$blob" in html and "Type the value itself" in html
    assert not Run.objects.filter(parent=ours).exists()


def test_a_pointer_left_as_it_was_still_forks(two_filings, client_for, engineer_user, advance_run):
    ours, _ = two_filings
    url = f"/runs/{ours.thread_id}/checkpoints/1/fork/"
    shown = state_at(ours.pk, 1)["document"]

    page = client_for(engineer_user).post(url, {"field_document": json.dumps(shown), "field_title": '"Q3"',
                                                "mode": "recorded"})

    assert page.status_code == 302
    fork = advance_run(Run.objects.get(parent=ours))
    assert state_at(fork.pk, fork.step)["summary"] == "our quarterly note"


def test_the_rest_of_a_field_may_change_around_the_pointer_it_holds(two_filings, client_for, engineer_user,
                                                                    advance_run):
    ours, _ = two_filings
    url = f"/runs/{ours.thread_id}/checkpoints/1/fork/"
    shown = state_at(ours.pk, 1)["document"]
    # Keys in another order than the state's, as a person retyping the object might send them.
    kept = dict(reversed(list(shown["file"].items())))

    page = client_for(engineer_user).post(url, {
        "field_document": json.dumps({"name": "renamed.txt", "file": kept, "copies": [kept]}), "mode": "recorded"})

    assert page.status_code == 302
    fork = advance_run(Run.objects.get(parent=ours))
    final = state_at(fork.pk, fork.step)
    assert final["document"]["name"] == "renamed.txt"
    assert final["summary"] == "our quarterly note"  # read through the pointer it kept


def test_a_held_pointer_with_one_part_changed_is_refused(two_filings, client_for, engineer_user):
    ours, _ = two_filings
    url = f"/runs/{ours.thread_id}/checkpoints/1/fork/"
    shown = state_at(ours.pk, 1)["document"]

    page = client_for(engineer_user).post(url, {
        "field_document": json.dumps({"name": "renamed.txt", "file": {**shown["file"], "size": 1}}),
        "mode": "recorded"})

    assert page.status_code == 422
    assert "document.file.$blob" in page.content.decode()
    assert not Run.objects.filter(parent=ours).exists()
