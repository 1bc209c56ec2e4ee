"""A live worker keeps its run however long a node takes: the lease heartbeat (orchestrator.heartbeat)
extends it while the node runs, so neither the reconciler nor a second worker mistakes a slow node
for a dead worker and runs it again (which would repeat its LLM calls and side effects)."""

from __future__ import annotations

import time
from collections import Counter

import django_rq
from rq import Worker

from orchestrator.demo.document_pipeline import NODES
from orchestrator.models import Checkpoint, Run
from orchestrator.reconciler import runs_reconcile
from orchestrator.services import run_start

LEASE = 2  # seconds: GATEHOUSE_LEASE_SECONDS in the workers' environment (tests/workers.py)
SLOW = 3 * LEASE


def test_a_node_three_leases_long_runs_once_and_the_run_is_never_reclaimed(worker_env, start_worker, wait_for):
    assert worker_env["GATEHOUSE_LEASE_SECONDS"] == str(LEASE)
    queue = django_rq.get_queue("default")
    start_worker()
    start_worker()
    # Both idle and listening before the run exists: the second is free to take a duplicate job.
    wait_for(lambda: len(Worker.all(queue=queue)) == 2, timeout=60, what="two workers to start")

    run = run_start(workflow="document_pipeline", input={"pages": 3, "slow_node": "clean", "slow_seconds": SLOW})
    wait_for(lambda: Run.objects.filter(pk=run.pk, status="running", next_node="clean").exists(), timeout=60,
             what="the slow node to start")
    started = time.monotonic()

    watch = {"duplicate": None, "answered_during_node": False}

    def node_ended() -> bool:
        if not Run.objects.filter(pk=run.pk, status="running", next_node="clean").exists():
            return True
        # The reconciler runs all along, as it does in production: the lease must never lapse.
        assert run.pk not in runs_reconcile().expired_leases, (
            f"the lease lapsed {time.monotonic() - started:.1f}s into a live node")
        if watch["duplicate"] is None and time.monotonic() - started > 1.5 * LEASE:
            # Well past the lease the claim took: a second job for the same run (a duplicate
            # enqueue) goes to the idle worker, which must find the run still leased.
            watch["duplicate"] = queue.enqueue("orchestrator.tasks.advance_run", run.pk, job_id=f"dup-{run.pk}",
                                               result_ttl=60)
        elif watch["duplicate"] is not None and not watch["answered_during_node"]:
            watch["answered_during_node"] = watch["duplicate"].get_status(refresh=True) == "finished"
        return False

    wait_for(node_ended, timeout=SLOW + 60, what="the slow node to finish")
    duplicate, answered_during_node = watch["duplicate"], watch["answered_during_node"]
    assert duplicate is not None, "the node ended before the test could try to take the run over"
    assert answered_during_node, "the duplicate job was not taken while the slow node ran"
    assert duplicate.return_value() == "noop", "the second worker found the run leased and left it alone"

    wait_for(lambda: Run.objects.get(pk=run.pk).status == "completed", timeout=60, what="the run to complete")
    run.refresh_from_db()
    assert run.lease_token == 1, "claimed once: no other worker ever held the run"
    nodes = Counter(Checkpoint.objects.filter(run=run, source="node").values_list("node", flat=True))
    assert nodes == Counter(NODES), "every node committed exactly once"
    slow = Checkpoint.objects.get(run=run, source="node", node="clean")
    assert slow.duration_ms >= SLOW * 1000, "the slow node really outlived its lease three times over"
