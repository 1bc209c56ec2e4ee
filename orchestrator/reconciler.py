"""The reconciler: Postgres is the truth, Redis only a hint. Safe to run in several places at once.

Each pass:
  1. Runs whose lease expired (their worker died) go back to 'queued' (guarded UPDATE).
  2. Runs 'queued' in Postgres for a few seconds with no job waiting in Redis (Redis restarted,
     flushed, an enqueue was lost, or the job's worker died after taking it) are enqueued again.
  3. Hooks registered by other apps (expired review items, budget reservations) run, each on its
     own: one that fails is logged and the others still run.
Duplicate jobs are harmless: a job whose claim matches no row does nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection

from orchestrator.queue import run_enqueue_now, runs_waiting

log = logging.getLogger("gatehouse.reconciler")

EXTRA_PASSES: list[Callable[[], int]] = []


@dataclass
class ReconcileReport:
    expired_leases: list[int] = field(default_factory=list)
    enqueued: list[int] = field(default_factory=list)
    extra: int = 0


def runs_reconcile(*, queued_grace_seconds: float = 3.0) -> ReconcileReport:
    report = ReconcileReport()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE orchestrator_run SET status = 'queued', lease_owner = '', updated_at = statement_timestamp()"
            " WHERE status = 'running' AND lease_expires_at < statement_timestamp() RETURNING id"
        )
        report.expired_leases = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT id FROM orchestrator_run WHERE status = 'queued'"
            " AND (updated_at < statement_timestamp() - %s * interval '1 second' OR id = ANY(%s))",
            [queued_grace_seconds, report.expired_leases],
        )
        queued = [row[0] for row in cursor.fetchall()]
    waiting = runs_waiting() if queued else set()
    for run_id in queued:
        if run_id not in waiting:
            run_enqueue_now(run_id)
            report.enqueued.append(run_id)
    for extra in EXTRA_PASSES:
        # Each hook on its own: one that fails (a database timeout, a mail server down) must not keep
        # the others (expired budget holds, review deadlines) from their work in this pass.
        try:
            report.extra += extra()
        except Exception:
            log.exception("reconciler: pass %s failed; the next pass runs it again",
                          getattr(extra, "__qualname__", repr(extra)))
    if report.expired_leases or report.enqueued:
        log.info("reconciler: expired leases %s, enqueued %s", report.expired_leases, report.enqueued)
    return report
