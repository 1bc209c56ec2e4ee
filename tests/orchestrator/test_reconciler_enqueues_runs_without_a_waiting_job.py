"""The reconciler trusts Postgres: a queued run gets a job unless one is still waiting in the queue,
whatever RQ says of jobs that workers took (a dead worker's job stays 'started' for minutes)."""

from __future__ import annotations

from datetime import timedelta

import django_rq
from django.utils import timezone
from rq.job import Job, JobStatus

from orchestrator.models import Run
from orchestrator.reconciler import runs_reconcile
from orchestrator.services import run_start


def _queued_a_while(redis_conn) -> Run:
    run = run_start(workflow="email_approval", input={"to": "a@b.co", "topic": "x"})
    redis_conn.flushdb()  # the start's own job is lost (Redis flushed, say)
    Run.objects.filter(pk=run.pk).update(updated_at=timezone.now() - timedelta(seconds=30))
    return run


def test_a_queued_run_gets_one_job_and_no_more_while_it_waits(transactional_db, redis_conn):
    run = _queued_a_while(redis_conn)
    assert runs_reconcile().enqueued == [run.pk]
    for _ in range(3):
        assert runs_reconcile().enqueued == [], "a waiting job is not duplicated pass after pass"
    assert len(django_rq.get_queue("default").job_ids) == 1


def test_a_job_whose_worker_died_after_taking_it_is_replaced(transactional_db, redis_conn):
    run = _queued_a_while(redis_conn)
    runs_reconcile()
    queue = django_rq.get_queue("default")
    (taken,) = queue.job_ids
    # A worker took it off the queue and died: RQ still calls the job started (or queued), in no list.
    redis_conn.lrem(queue.key, 0, taken)
    Job.fetch(taken, connection=queue.connection).set_status(JobStatus.STARTED)

    assert runs_reconcile().enqueued == [run.pk]
    (fresh,) = queue.job_ids
    assert fresh != taken and fresh.startswith(f"run-{run.pk}-")
