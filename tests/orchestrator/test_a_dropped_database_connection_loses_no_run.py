"""The database drops a worker's connection while a node runs (a Postgres restart, a failover, a
network cut): the run is not failed for it, it finishes once the worker can reach the database
again, and no LLM call already journaled is paid for twice."""

from __future__ import annotations

from collections import Counter

from django.db import connection

from orchestrator.demo.document_pipeline import NODES
from orchestrator.models import Checkpoint, JournalEntry, Run
from orchestrator.reconciler import runs_reconcile
from orchestrator.services import run_start
from tests.fakes.llm_server import API_KEY

FINISHED = {"completed", "failed", "rejected", "cancelled", "suspended"}
LLM_NODES = {"classify", "extract_entities", "summarize", "score_risk", "compose_report"}


def _provider_env(fake_llm) -> dict[str, str]:
    return {"OPENAI_BASE_URL": fake_llm.openai_base_url, "OPENAI_API_KEY": API_KEY, "NO_PROXY": "127.0.0.1"}


def _drop_other_connections() -> int:
    """Terminate every other session on the test database, as a restarting server would."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        return cursor.fetchone()[0]


def test_a_connection_dropped_mid_node_does_not_fail_the_run(fake_llm, start_worker, wait_for):
    run = run_start(workflow="document_pipeline", input={
        "model": "gpt-4o-mini", "slow_node": "summarize", "slow_seconds": 2, "pages": 90})
    worker = start_worker(env=_provider_env(fake_llm))
    wait_for(lambda: JournalEntry.objects.filter(run=run, node="summarize").exists(), what="node 7's LLM call")
    assert _drop_other_connections() >= 1

    # Node 7's commit finds its connection gone and the job ends; the run is not marked failed for
    # it. Its lease lapses and the reconciler hands it back; node 7 gets its answer from the journal.

    wait_for(lambda: runs_reconcile() and Run.objects.get(pk=run.pk).status in FINISHED,
             timeout=60, what="the run to finish")
    run.refresh_from_db()
    assert run.status == "completed", (run.status, run.error, worker.output()[-3000:])
    nodes = Counter(Checkpoint.objects.filter(run=run, source="node").values_list("node", flat=True))
    assert nodes == Counter(NODES)
    assert len(fake_llm.requests) == len(LLM_NODES), worker.output()[-3000:]
    # The worker said what happened in one line, not a traceback.
    said = worker.output()
    assert "a step commit failed" in said and "Traceback" not in said, said[-3000:]


def test_a_worker_whose_connections_were_dropped_while_idle_runs_the_next_job(start_worker, wait_for):
    start_worker()
    first = run_start(workflow="document_pipeline", input={"pages": 3})
    wait_for(lambda: Run.objects.get(pk=first.pk).status == "completed", what="a first run on the worker")
    _drop_other_connections()

    # No lease to wait out: the next job must not try the dropped connection and fail.
    second = run_start(workflow="document_pipeline", input={"pages": 3})
    wait_for(lambda: Run.objects.get(pk=second.pk).status == "completed", timeout=15, what="the next run")
