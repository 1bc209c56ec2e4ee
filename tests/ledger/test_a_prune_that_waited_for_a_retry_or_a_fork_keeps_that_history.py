"""Retention prunes finished runs older than their period, once sealed, and not while a newer fork needs
their history. It chooses them, then locks them; a retry or a fork of such a run may commit while the prune
waits for that lock, and the prune must decide on what it finds once it holds it:

- a run retried meanwhile is live again: its history is what its worker resumes from, so it is not pruned
  (before, its checkpoints and ledger were deleted under the queued run, which could never run again);
- a fork made meanwhile needs its parent's history (a recorded fork replays the parent's calls): the parent
  waits, as it does for any newer fork.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from audit.retention import retention_prune
from audit.sealing import ledger_seal
from orchestrator.executor import run_advance
from orchestrator.forks import run_fork
from orchestrator.models import Checkpoint, Run
from orchestrator.services import run_retry
from tests.interleave import held_open, in_a_thread, sessions_waiting_on_a_lock


def _finished_long_ago(run: Run, *, status: str) -> Run:
    Run.objects.filter(pk=run.pk).update(status=status, finished_at=timezone.now() - timedelta(days=401))
    assert ledger_seal() is not None  # only sealed history is pruned
    return Run.objects.get(pk=run.pk)


def _started_while_held(hold, start, wait_for, what: str):
    with held_open(hold):
        started = in_a_thread(start)
        wait_for(lambda: sessions_waiting_on_a_lock() > 0, what=f"{what} (else the race is not exercised)")
    return started.result(timeout=30)


def _prune():
    return retention_prune(dry_run=False, actor="admin")


def test_a_run_retried_while_the_prune_waited_keeps_its_history(letter_run, engineer_user, wait_for):
    run = _finished_long_ago(letter_run(), status="failed")

    plan = _started_while_held(lambda: run_retry(run=run, actor=engineer_user), _prune, wait_for,
                               "the prune to wait for the retry")

    assert plan.due == []
    assert Checkpoint.objects.filter(run=run).count() == 7
    assert run_advance(run.pk, worker="test") == "completed", "the retried run resumes from its history"


def test_a_fork_made_while_the_prune_waited_keeps_its_parent_s_history(letter_run, engineer_user, wait_for):
    parent = _finished_long_ago(letter_run(), status="completed")

    plan = _started_while_held(lambda: run_fork(run=parent, at_step=3, actor=engineer_user), _prune, wait_for,
                               "the prune to wait for the fork")

    # The fork also wrote a "forked" entry to the parent's chain, not sealed yet: the first reason it waits.
    assert plan.due == [] and set(plan.waiting) == {parent.thread_id}
    assert Checkpoint.objects.filter(run=parent).count() == 7
