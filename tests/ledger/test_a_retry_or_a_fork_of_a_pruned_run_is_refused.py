"""A run whose history retention pruned has no state left: a retry or a fork of it is refused saying so,
also one that was sent while the prune was under way and waited for it. Before, the retry queued a run with
no checkpoint to resume from (and appended to a ledger chain that was gone), and a fork that waited copied a
state the prune had just deleted.
"""

from __future__ import annotations

import pytest

from orchestrator.forks import ForkError, run_fork
from orchestrator.models import Run
from orchestrator.services import RunError, run_retry
from tests.interleave import started_while_held
from tests.ledger.pruning import finished_long_ago, prune_now


def test_a_retry_that_waited_for_the_prune_is_refused(letter_run, engineer_user, wait_for):
    run = finished_long_ago(letter_run(), status="failed")

    with pytest.raises(RunError, match="history was pruned by retention"):
        started_while_held(prune_now, lambda: run_retry(run=run, actor=engineer_user), wait_for,
                           "the retry to wait for the prune")
    assert Run.objects.get(pk=run.pk).status == "failed"


def test_a_fork_that_waited_for_the_prune_of_its_parent_is_refused(letter_run, engineer_user, wait_for):
    parent = finished_long_ago(letter_run(), status="completed")

    with pytest.raises(ForkError, match="history was pruned by retention"):
        started_while_held(prune_now, lambda: run_fork(run=parent, at_step=3, actor=engineer_user), wait_for,
                           "the fork to wait for the prune")
    assert list(Run.objects.values_list("pk", flat=True)) == [parent.pk], "no fork was made"


def test_a_retry_of_a_failed_run_pruned_before_is_refused(letter_run, engineer_user):
    run = finished_long_ago(letter_run(), status="failed")
    assert prune_now().due == [run.thread_id]

    with pytest.raises(RunError, match="history was pruned by retention"):
        run_retry(run=Run.objects.get(pk=run.pk), actor=engineer_user)
    assert Run.objects.get(pk=run.pk).status == "failed"
