"""Enqueueing runs on RQ. Redis carries only "please advance run N"; Postgres says what to do."""

from __future__ import annotations

import logging
import secrets

import django_rq
from django.db import transaction
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.queue import Queue

log = logging.getLogger("gatehouse.queue")
QUEUE = "default"
# Which job was last enqueued for a run. Only a hint: lost with Redis, when the reconciler enqueues
# again (Postgres still says the run is queued).
_LATEST_JOB = "gatehouse:run-job:{}"
_LATEST_JOB_TTL = 7 * 24 * 3600


def _still_waiting(queue: Queue, job: Job) -> bool:
    """Will this job still be taken by a worker and claim its run?

    Only a job waiting in the queue will. A job a worker has taken has made its claim already, or
    is finishing the tail of a visit that a decision has since re-queued, or died with its worker:
    RQ keeps a dead job 'started' (and a job its worker took just before dying 'queued' in the
    intermediate list) until a worker's maintenance pass, minutes later. Postgres says the run is
    queued, so it needs a new job; if the old one claims it after all, the other claim matches no
    row (duplicate jobs are harmless by design)."""
    status = job.get_status(refresh=False)
    if status in (JobStatus.DEFERRED, JobStatus.SCHEDULED):
        return True
    return status == JobStatus.QUEUED and job.id not in queue.intermediate_queue.get_job_ids()


def run_enqueue_now(run_id: int) -> bool:
    """Enqueue unless a job for this run is still waiting in the queue. Returns True if enqueued."""
    queue = django_rq.get_queue(QUEUE)
    latest = queue.connection.get(_LATEST_JOB.format(run_id))
    if latest is not None:
        try:
            if _still_waiting(queue, Job.fetch(latest.decode(), connection=queue.connection)):
                return False
        except NoSuchJobError:
            pass
    # A new id every time: a taken job's own bookkeeping (RQ writes its status when it ends) never
    # lands on the job that replaces it.
    job_id = f"run-{run_id}-{secrets.token_hex(4)}"
    queue.enqueue("orchestrator.tasks.advance_run", run_id, job_id=job_id, result_ttl=60, failure_ttl=3600,
                  job_timeout=-1)
    queue.connection.set(_LATEST_JOB.format(run_id), job_id, ex=_LATEST_JOB_TTL)
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
