"""Single writer: a worker whose lease was taken over cannot commit; history has no gap or duplicate."""

from __future__ import annotations

import pytest
from django.db import connection

from orchestrator.commit import LeaseLost
from orchestrator.executor import Execution, run_claim
from orchestrator.models import Checkpoint, Run
from orchestrator.registry import workflow_get
from orchestrator.services import run_start


def _expire_lease(run_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE orchestrator_run SET lease_expires_at = now() - interval '1 second' WHERE id = %s",
                       [run_id])


def test_two_workers_racing_on_one_run_only_the_lease_holder_commits(transactional_db, test_graphs):
    run = run_start(workflow="sequence")
    graph = workflow_get("sequence")
    stale_claim = run_claim(run.pk, "worker-a", 30)
    stale = Execution(stale_claim, graph, 30)
    assert stale.step_once() == "running"  # worker A commits step 1

    _expire_lease(run.pk)  # worker A stalls (GC pause, network partition) past its lease
    fresh = Execution(run_claim(run.pk, "worker-b", 30), graph, 30)
    assert fresh.claim.token == stale_claim.token + 1
    assert fresh.step_once() == "running"  # worker B commits step 2

    with pytest.raises(LeaseLost):
        stale.step_once()  # worker A wakes up and tries to commit step 2 again: rejected

    assert fresh.advance() == "suspended"  # B goes on to the dynamic gate
    steps = list(Checkpoint.objects.filter(run=run).order_by("step").values_list("step", "node"))
    assert [s for s, _ in steps] == list(range(len(steps))), "no gap and no duplicate step"
    assert [n for _, n in steps] == ["", "a", "b", "c", "ask"]
    run.refresh_from_db()
    assert run.ledger_len == len(set(run_ledger_hashes(run)))


def run_ledger_hashes(run: Run) -> list[str]:
    from audit.models import LedgerEntry

    return list(LedgerEntry.objects.filter(chain=run.thread_id).values_list("hash", flat=True))


def test_a_claim_on_a_leased_run_gets_nothing(transactional_db, test_graphs):
    run = run_start(workflow="sequence")
    assert run_claim(run.pk, "worker-a", 30) is not None
    assert run_claim(run.pk, "worker-b", 30) is None


def test_duplicate_jobs_for_one_run_in_two_worker_processes_commit_each_step_once(
        test_graphs, worker_env, start_worker, wait_for):
    from orchestrator.queue import run_enqueue_now

    run = run_start(workflow="document_pipeline", input={"pages": 3, "slow_node": "clean", "slow_seconds": 0.5})
    # The same run enqueued under two job ids: both workers try to advance it at once.
    import django_rq

    django_rq.get_queue("default").enqueue("orchestrator.tasks.advance_run", run.pk, job_id=f"dup-{run.pk}")
    run_enqueue_now(run.pk)
    start_worker()
    start_worker()
    wait_for(lambda: Run.objects.get(pk=run.pk).status == "completed", timeout=60, what="the run to complete")
    steps = list(Checkpoint.objects.filter(run=run).order_by("step").values_list("step", flat=True))
    assert steps == list(range(len(steps)))
    assert Checkpoint.objects.filter(run=run, source="node").count() == 12
