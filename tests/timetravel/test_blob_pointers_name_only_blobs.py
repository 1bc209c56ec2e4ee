"""A blob pointer names a stored document by its sha256 and nothing else. Typed into a run's input it
is refused, naming the key path; copied into the state from a model's answer, text such as
"ab/../../<another blob's path>" (or a pointer whose size is not a number) is shown as an ordinary
object, opens nothing, and erasing that run never deletes another run's document, nor one that only a
pending review item still shows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.files.storage import default_storage

from audit.erasure import audit_erase
from orchestrator.history import state_at
from orchestrator.models import Run
from orchestrator.services import RunError, run_start


@pytest.fixture
def victim(register_workflows, transactional_db, advance_run) -> tuple[Run, str]:
    """A finished filing whose document is a file in the blob store: (the run, that file's path)."""
    register_workflows("tests.timetravel.graphs")
    run = advance_run(run_start(workflow="filing", input={"text": "the victim's signed contract"}))
    sha = state_at(run.pk, run.step)["document"]["file"]["$blob"]
    path = Path(default_storage.path(f"{sha[:2]}/{sha[2:4]}/{sha}"))
    assert path.exists()
    return run, path


def _climbing_to(path: Path) -> str:
    # From the blob store's top ("ab/cd/<name>"), back up to it and down to the victim's file.
    return "ab/../" + "/".join(path.parts[-3:])


def test_a_pointer_typed_into_a_run_s_input_is_refused_with_its_path(victim, engineer_api):
    _run, path = victim
    before = Run.objects.count()

    refused = engineer_api.post("/api/runs", {"workflow": "filing", "input": {"document": {
        "name": "x", "file": {"$blob": _climbing_to(path), "size": 1, "type": "text/plain"}}}},
        content_type="application/json")

    assert refused.status_code == 422, refused.content
    detail = refused.json()["detail"]
    assert "input.document.file.$blob" in detail and "reserved for the engine's pointers" in detail
    assert Run.objects.count() == before
    with pytest.raises(RunError, match=r"input\.document\.\$blob"):
        run_start(workflow="filing", input={"document": {"$blob": "0" * 64}})  # well-formed or not


def test_a_model_s_answer_naming_another_blob_opens_nothing_and_erases_nothing(victim, advance_run, client_for,
                                                                               engineer_user, admin_user):
    theirs, path = victim
    answer = json.dumps({"note": {"$blob": _climbing_to(path), "size": 28, "type": "text/plain"}})
    ours = advance_run(run_start(workflow="parsed_answer", input={"answer": answer}))
    assert ours.status == "completed"

    engineer = client_for(engineer_user)
    for url in (f"/runs/{ours.thread_id}/", f"/runs/{ours.thread_id}/checkpoints/{ours.step}/"):
        page = engineer.get(url)
        assert page.status_code == 200, url
        html = page.content.decode()
        assert "victim" not in html  # the other run's document was not opened
        assert 'data-testid="blob"' not in html  # nor shown as a pointer with a download link

    audit_erase(actor=admin_user, run=ours.thread_id)

    assert path.exists()
    page = engineer.get(f"/runs/{theirs.thread_id}/checkpoints/{theirs.step}/")
    assert page.status_code == 200 and "the victim&#x27;s signed contract" in page.content.decode()


@pytest.mark.parametrize("pointer", [
    {"$blob": "a" * 64, "size": "twelve", "type": "text/plain"},
    {"$blob": "a" * 64, "size": 12, "type": ["text/plain"]},
    {"$blob": "A" * 64, "size": 12, "type": "text/plain"},
])
def test_a_malformed_pointer_from_a_model_is_shown_as_an_object(register_workflows, transactional_db, advance_run,
                                                                client_for, engineer_user, pointer):
    register_workflows("tests.timetravel.graphs")
    run = advance_run(run_start(workflow="parsed_answer", input={"answer": json.dumps({"note": pointer})}))

    for url in (f"/runs/{run.thread_id}/", f"/runs/{run.thread_id}/checkpoints/{run.step}/"):
        page = client_for(engineer_user).get(url)
        assert page.status_code == 200, url
        assert 'data-testid="blob"' not in page.content.decode()


def test_erasing_a_run_keeps_a_document_a_pending_review_item_still_shows(register_workflows, transactional_db,
                                                                         advance_run, admin_user):
    register_workflows("tests.timetravel.graphs")
    text = "the contract a reviewer is about to read"
    waiting = advance_run(run_start(workflow="asks_about_a_file", input={"text": text}))
    assert waiting.status == "suspended"
    item_pointer = json.loads(waiting.review_items.get().request)["args"]["file"]
    filed = advance_run(run_start(workflow="filing", input={"text": text}))  # the same bytes: the same blob
    assert state_at(filed.pk, filed.step)["document"]["file"]["$blob"] == item_pointer["$blob"]

    audit_erase(actor=admin_user, run=filed.thread_id)

    sha = item_pointer["$blob"]
    assert Path(default_storage.path(f"{sha[:2]}/{sha[2:4]}/{sha}")).exists()
