"""History is append-only, any step's state can be rebuilt, and a step writes only what changed."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from orchestrator.blobs import STATE_BLOB_TYPE
from orchestrator.executor import run_advance
from orchestrator.history import state_at
from orchestrator.models import Blob, Checkpoint
from orchestrator.services import run_start
from orchestrator.state import loads


def _run_pipeline(pages: int = 80):
    run = run_start(workflow="document_pipeline", input={"pages": pages})
    assert run_advance(run.pk, worker="test") == "completed"
    run.refresh_from_db()
    return run


@pytest.mark.parametrize("statement", [
    "UPDATE orchestrator_checkpoint SET node = 'forged' WHERE run_id = %s",
    "DELETE FROM orchestrator_checkpoint WHERE run_id = %s",
    "UPDATE audit_ledgerentry SET kind = 'forged' WHERE run_id = %s",
    "DELETE FROM audit_ledgerentry WHERE run_id = %s",
    "UPDATE orchestrator_journalentry SET result = 'null' WHERE run_id = %s",
])
def test_the_database_refuses_to_change_history(db, statement):
    run = _run_pipeline(pages=2)
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, [run.pk])


def test_a_large_value_is_stored_once_as_a_blob_and_the_state_keeps_a_pointer(db, settings):
    run = _run_pipeline(pages=80)
    corpus_step = Checkpoint.objects.get(run=run, node="load")
    pointer = loads(corpus_step.delta)["set"]["corpus"]
    assert set(pointer) == {"$blob", "size", "type"} and pointer["size"] > settings.GATEHOUSE_BLOB_THRESHOLD
    assert pointer["type"] == STATE_BLOB_TYPE  # the engine's own, read back as the value (a node's stays a pointer)
    assert Blob.objects.filter(sha256=pointer["$blob"]).exists()
    # Later steps do not write the corpus again: their deltas hold only what they changed.
    later = Checkpoint.objects.filter(run=run, step__gt=corpus_step.step, source="node")
    assert all("corpus" not in (loads(cp.delta).get("set") or {}) for cp in later)
    assert state_at(run.pk, run.step, hydrate=True)["corpus"].startswith("--- page 1 ---")


def test_every_checkpoint_rebuilds_to_the_state_the_nodes_saw(db, settings):
    settings.GATEHOUSE_SNAPSHOT_EVERY = 4
    run = _run_pipeline(pages=3)
    trails = [state_at(run.pk, step)["trail"] for step in range(run.step + 1)]
    assert trails[0] == [] and len(trails[-1]) == 12
    assert all(trails[i + 1][:-1] == trails[i] for i in range(len(trails) - 1))
    snapshots = Checkpoint.objects.filter(run=run, snapshot__isnull=False).values_list("step", flat=True)
    assert 0 in snapshots and 4 in snapshots and 8 in snapshots
