"""Redis carries only hints: flush it with runs queued and every run still completes."""

from __future__ import annotations

from orchestrator.models import Run
from orchestrator.reconciler import runs_reconcile
from orchestrator.services import run_start


def test_runs_queued_when_redis_is_flushed_still_complete(worker_env, redis_conn, start_worker, wait_for):
    runs = [run_start(workflow="document_pipeline", input={"pages": 2}) for _ in range(5)]
    runs.append(run_start(workflow="research_agent", input={"question": "why?", "max_iterations": 2}))
    assert redis_conn.llen("rq:queue:default") == len(runs)

    redis_conn.flushdb()  # Redis restarted without persistence: every job is gone
    start_worker()
    report = runs_reconcile(queued_grace_seconds=0)
    assert sorted(report.enqueued) == sorted(r.pk for r in runs)

    wait_for(lambda: not Run.objects.filter(pk__in=[r.pk for r in runs]).exclude(status="completed").exists(),
             timeout=60, what="all runs to complete")


def test_reconciling_twice_enqueues_a_queued_run_once(worker_env, redis_conn):
    run = run_start(workflow="email_approval", input={"to": "a@b.co", "topic": "x"})
    redis_conn.flushdb()
    assert runs_reconcile(queued_grace_seconds=0).enqueued == [run.pk]
    assert runs_reconcile(queued_grace_seconds=0).enqueued == []
    assert redis_conn.llen("rq:queue:default") == 1
