"""Retention prunes finished runs older than their period, once sealed, and not while a newer fork needs
their history. It chooses them, then locks them; a retry or a fork of such a run may commit while the prune
waits for that lock, and the prune must decide on what it finds once it holds it:

- a run retried meanwhile is live again: its history is what its worker resumes from, so it is not pruned
  (before, its checkpoints and ledger were deleted under the queued run, which could never run again);
- a fork made meanwhile needs its parent's history (a recorded fork replays the parent's calls): the parent
  waits, as it does for any newer fork.
"""

from __future__ import annotations

from orchestrator.executor import run_advance
from orchestrator.forks import run_fork
from orchestrator.models import Checkpoint
from orchestrator.services import run_retry
from tests.interleave import started_while_held
from tests.ledger.pruning import finished_long_ago, prune_now


def test_a_run_retried_while_the_prune_waited_keeps_its_history(letter_run, engineer_user, wait_for):
    run = finished_long_ago(letter_run(), status="failed")

    plan = started_while_held(lambda: run_retry(run=run, actor=engineer_user), prune_now, wait_for,
                              "the prune to wait for the retry")

    assert plan.due == []
    assert Checkpoint.objects.filter(run=run).count() == 7
    assert run_advance(run.pk, worker="test") == "completed", "the retried run resumes from its history"


def test_a_fork_made_while_the_prune_waited_keeps_its_parent_s_history(letter_run, engineer_user, wait_for):
    parent = finished_long_ago(letter_run(), status="completed")

    plan = started_while_held(lambda: run_fork(run=parent, at_step=3, actor=engineer_user), prune_now, wait_for,
                              "the prune to wait for the fork")

    # The fork also wrote a "forked" entry to the parent's chain, not sealed yet: the first reason it waits.
    assert plan.due == [] and set(plan.waiting) == {parent.thread_id}
    assert Checkpoint.objects.filter(run=parent).count() == 7
