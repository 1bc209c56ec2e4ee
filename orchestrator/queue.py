"""Enqueueing runs on RQ. Redis carries only "please advance run N"; Postgres says what to do.

A job id is `run-<id>-<random>`, new for every enqueue, so a job a worker has already taken can
never write its bookkeeping (RQ records a job's status when it ends) over the job that replaced it.
Duplicate jobs are harmless by design: a job whose claim matches no row does nothing.
"""

from __future__ import annotations

import logging
import secrets

import django_rq
from django.db import transaction

log = logging.getLogger("gatehouse.queue")
QUEUE = "default"
_PREFIX = "run-"


def _run_of(job_id: str) -> int | None:
    """The run a job id names (`run-<id>-<random>`; `run-<id>` before this scheme), or None."""
    if not job_id.startswith(_PREFIX):
        return None
    number = job_id[len(_PREFIX):].split("-", 1)[0]
    return int(number) if number.isdigit() else None


def runs_waiting() -> set[int]:
    """Runs with a job still waiting to be taken by a worker: in the queue's list, or in RQ's
    intermediate list (taken a moment ago, or by a worker that died right then: RQ's own cleanup
    fails such a job a minute or more later; the reconciler's grace period is shorter, and one
    duplicate job is harmless). One read of each list per reconciler pass, not one per run.

    A job's status is not asked: RQ keeps a job whose worker died 'started' (or, when it was
    dequeued without the intermediate list, 'queued' in no list) until a maintenance pass."""
    queue = django_rq.get_queue(QUEUE)
    ids = queue.connection.lrange(queue.key, 0, -1) + queue.connection.lrange(queue.intermediate_queue.key, 0, -1)
    return {run for run in (_run_of(raw.decode()) for raw in ids) if run is not None}


def run_enqueue_now(run_id: int) -> None:
    """Put a job for this run on the queue."""
    django_rq.get_queue(QUEUE).enqueue(
        "orchestrator.tasks.advance_run", run_id, job_id=f"{_PREFIX}{run_id}-{secrets.token_hex(4)}",
        result_ttl=60, failure_ttl=3600, job_timeout=-1)


def run_enqueue(run_id: int) -> None:
    """Enqueue after the current transaction commits, so a worker never sees uncommitted state.

    Callers have just made the run 'queued' (start, decision, retry, fork), so any job of the
    run's still waiting is stale; one more is harmless. If Redis is unreachable the run stays
    queued in Postgres and the reconciler enqueues it later.
    """

    def _enqueue() -> None:
        try:
            run_enqueue_now(run_id)
        except Exception as exc:  # Redis down: Postgres still says "queued"; the reconciler retries
            log.warning("could not enqueue run %s (%s); the reconciler will", run_id, exc)

    transaction.on_commit(_enqueue)
