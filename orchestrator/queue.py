"""Enqueueing runs on RQ. Redis carries only "please advance run N"; Postgres says what to do."""

from __future__ import annotations

import logging

import django_rq
from django.db import transaction
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

log = logging.getLogger("gatehouse.queue")
QUEUE = "default"


def job_id(run_id: int) -> str:
    return f"run-{run_id}"


def run_enqueue_now(run_id: int) -> bool:
    """Enqueue unless a job for this run is already waiting or running. Returns True if enqueued."""
    queue = django_rq.get_queue(QUEUE)
    try:
        job = Job.fetch(job_id(run_id), connection=queue.connection)
        if job.get_status(refresh=False) in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED,
                                             JobStatus.SCHEDULED):
            return False
        job.delete()
    except NoSuchJobError:
        pass
    queue.enqueue("orchestrator.tasks.advance_run", run_id, job_id=job_id(run_id), result_ttl=60,
                  failure_ttl=3600, job_timeout=-1)
    return True


def run_enqueue(run_id: int) -> None:
    """Enqueue after the current transaction commits, so a worker never sees uncommitted state.

    If Redis is unreachable the run stays queued in Postgres and the reconciler enqueues it later.
    """

    def _enqueue() -> None:
        try:
            run_enqueue_now(run_id)
        except Exception as exc:  # Redis down: Postgres still says "queued"; the reconciler retries
            log.warning("could not enqueue run %s (%s); the reconciler will", run_id, exc)

    transaction.on_commit(_enqueue)
