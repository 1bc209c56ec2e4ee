"""A node may keep the pointer ctx.blobs.put() gave it as a whole state field (or an item of an
append list). Only the pointers the engine makes for oversized values are read back as values: a
node's own pointer is still a pointer when a worker resumes the run from the database after a gate,
and when the run is forked; its bytes need not be JSON at all."""

from __future__ import annotations

import pytest

from orchestrator.blobs import STATE_BLOB_TYPE
from orchestrator.context import Blobs
from orchestrator.executor import run_advance
from orchestrator.forks import run_fork
from orchestrator.history import state_at
from orchestrator.models import Checkpoint, Run
from orchestrator.services import run_start
from review.models import ReviewItem
from review.services import DecisionError, DecisionInput, review_decide

TEXT = "plain words, not JSON"


def test_a_run_resumed_after_a_gate_still_sees_its_own_pointer(db, test_graphs, make_user):
    run = run_start(workflow="own_blobs", input={"text": TEXT})
    assert run_advance(run.pk, worker="t") == "suspended"  # before read_back; the process's state is gone
    pointer = state_at(run.pk, Run.objects.get(pk=run.pk).step)["file"]
    assert pointer["type"] == "text/plain"

    review_decide(item=ReviewItem.objects.get(run=run, status="pending"), actor=make_user("rita", "reviewer"),
                  decision=DecisionInput("approve"))
    assert run_advance(run.pk, worker="t") == "completed"

    final = state_at(run.pk, Run.objects.get(pk=run.pk).step)
    assert final["note"] == f"{TEXT} / {TEXT}"
    assert final["file"] == pointer and final["pages"] == [pointer]


def test_a_fork_of_such_a_run_reads_the_pointer_too(db, test_graphs, make_user):
    admin = make_user("ada", "admin")
    run = run_start(workflow="own_blobs", input={"text": TEXT})
    run_advance(run.pk, worker="t")
    at_step = Checkpoint.objects.get(run=run, source="node", node="attach").step

    fork = run_fork(run=run, at_step=at_step, mode="live", actor=admin)
    assert run_advance(fork.pk, worker="t") == "suspended"
    review_decide(item=ReviewItem.objects.get(run=fork, status="pending"), actor=make_user("rita", "reviewer"),
                  decision=DecisionInput("approve"))
    assert run_advance(fork.pk, worker="t") == "completed"
    assert state_at(fork.pk, Run.objects.get(pk=fork.pk).step)["note"] == f"{TEXT} / {TEXT}"


def test_a_reviewer_may_edit_the_other_arguments_of_a_gate_that_shows_the_pointer(db, test_graphs, make_user):
    rita = make_user("rita", "reviewer")
    run = run_start(workflow="own_blobs", input={"text": TEXT})
    run_advance(run.pk, worker="t")
    item = ReviewItem.objects.get(run=run, status="pending")
    pointer = state_at(run.pk, Run.objects.get(pk=run.pk).step)["file"]

    with pytest.raises(DecisionError, match=r"file\.\$blob"):  # another document: refused
        review_decide(item=item, actor=rita, decision=DecisionInput("edit", edits={
            "file": {**pointer, "$blob": "0" * 64}, "note": "checked"}))
    # The form sends every argument back: the pointer as it was, the note changed.
    review_decide(item=item, actor=rita, decision=DecisionInput("edit", edits={"file": pointer, "note": "checked"}))
    edited = state_at(run.pk, Run.objects.get(pk=run.pk).step)
    assert (edited["note"], edited["file"]) == ("checked", pointer)  # the edit stands, the pointer as it was
    assert run_advance(run.pk, worker="t") == "completed"
    assert state_at(run.pk, Run.objects.get(pk=run.pk).step)["note"] == f"{TEXT} / {TEXT}"


def test_the_engine_s_own_content_type_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="the engine's own"):
        Blobs().put(b"{}", content_type=STATE_BLOB_TYPE)
