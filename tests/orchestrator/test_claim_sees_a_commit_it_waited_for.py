"""A claim that had to wait for a late step commit starts from that step, not from the state before it.

The claim and the state load are one statement (orchestrator.executor._CLAIM). When its UPDATE waits
on the run row for a worker that is committing a step (a worker whose lease has just lapsed), Postgres
re-checks the row after that commit and the claim sees the new step, but the checkpoint reads in the
same statement still see the snapshot taken before the wait. Without a second read the new worker
would run the next node on the old state: the committed step's changes would silently be lost.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from queue import Queue

import psycopg
from django.db import connection
from django.utils import timezone

from orchestrator.executor import Claim, Execution, run_claim
from orchestrator.history import state_at
from orchestrator.models import Run
from orchestrator.registry import workflow_get
from orchestrator.services import run_start
from tests.workers import database_url

# Worker A's step 1 ("a" ran and set n to 42), as its step commit writes it: the run row moves on,
# the lease columns stay as they are (the heartbeat owns them), and the checkpoint holds the delta.
_STEP_ONE_RUN = "UPDATE orchestrator_run SET step = 1, next_node = 'b', visit_step = 1 WHERE id = %s"
_STEP_ONE_CHECKPOINT = """
INSERT INTO orchestrator_checkpoint
  (run_id, step, node, source, delta, snapshot, next_node, state_hash, actor_id, created_at,
   duration_ms, input_tokens, output_tokens, cost, attempt, meta)
VALUES (%s, 1, 'a', 'node', '{"set":{"n":42},"append":{"seen":[42]}}', NULL, 'b', 'after-a', NULL, now(),
        0, 0, 0, 0, 1, '{}')
"""


def _claim_in_a_thread(run_id: int, pids: Queue) -> Claim | None:
    try:
        connection.ensure_connection()
        pids.put(connection.connection.info.backend_pid)
        return run_claim(run_id, "worker-b", 30)
    finally:
        connection.close()


def _blocked_by(pid: int, blocker: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s = ANY(pg_blocking_pids(%s))", [blocker, pid])
        return cursor.fetchone()[0]


def test_a_claim_that_waited_for_a_step_commit_resumes_after_that_step(transactional_db, test_graphs, wait_for):
    run = run_start(workflow="sequence")
    stale = run_claim(run.pk, "worker-a", 30)
    assert stale is not None and stale.step == 0
    # Worker A stalls past its lease: the run is up for grabs.
    Run.objects.filter(pk=run.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=5))

    late = psycopg.connect(database_url())
    try:
        with late.cursor() as cursor:  # worker A's step commit, in flight: the run row is locked
            cursor.execute(_STEP_ONE_RUN, [run.pk])
            cursor.execute(_STEP_ONE_CHECKPOINT, [run.pk])
        pids: Queue = Queue()
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(_claim_in_a_thread, run.pk, pids)
            # Only a claim that is really waiting on the row lock exercises the race; one that ran
            # after the commit would read everything afresh and prove nothing.
            claimer = pids.get(timeout=10)
            wait_for(lambda: _blocked_by(claimer, late.info.backend_pid), timeout=10,
                     what="the claim to wait for the open step commit (else the race is not exercised)")
            late.commit()
            claim = pending.result(timeout=10)
    finally:
        late.close()

    assert claim is not None, "the lease had lapsed and worker A's commit left it lapsed: B takes the run"
    assert claim.token == stale.token + 1
    assert claim.step == 1 and claim.next_node == "b"
    assert claim.stored_state["n"] == 42, "the state includes the step the claim waited for"
    assert claim.stored_state["seen"] == [42]
    assert claim.visits == {"a": 1}, "node a's visit counts towards its cap"
    assert claim.last_checkpoint is not None and claim.last_checkpoint[:2] == ("node", "a")

    # What a user would see: worker B's next step builds on worker A's, nothing is lost.
    assert Execution(claim, workflow_get("sequence"), 30).step_once() == "running"
    after_b = state_at(run.pk, 2, hydrate=True)
    assert after_b["n"] == 43 and after_b["seen"] == [42, 43]
