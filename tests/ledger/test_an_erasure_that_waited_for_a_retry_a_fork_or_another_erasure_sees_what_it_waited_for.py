"""An erasure chooses its runs (a customer's runs and every fork of them, all finished) and then locks
them. A retry, a fork or another erasure may commit in between, while the erasure waits for the lock: it
must decide on the runs as they are once it holds them, not as it first read them.

- A run retried meanwhile is queued again: erasing it would hand its worker `{"$erased": true}` for every
  field (or let it write the customer's data into new checkpoints after the erasure), so it is refused.
- A fork made meanwhile holds a copy of the parent's state: it is found, and (queued) refused by name, not
  left out with the customer's data in its first checkpoint.
- A second erasure of the same run finds it erased, as it would had it come a moment later: no second
  `personal_data_erased` entry claiming a second erasure.
"""

from __future__ import annotations

import pytest

from audit.erasure import ErasureError, audit_erase
from audit.models import LedgerEntry
from audit.selectors_ledger import ERASED_KIND
from orchestrator.executor import run_advance
from orchestrator.forks import run_fork
from orchestrator.models import Checkpoint, Run
from orchestrator.services import run_cancel, run_retry
from tests.interleave import held_open, in_a_thread, sessions_waiting_on_a_lock


def _erase_waiting_for(hold, *, actor, thread_id, wait_for):
    """audit_erase(run=thread_id), started while `hold` runs in a transaction that is kept open until
    the erasure waits for its locks; returns the erasure's future."""
    with held_open(hold):
        erasing = in_a_thread(lambda: audit_erase(actor=actor, run=thread_id))
        wait_for(lambda: sessions_waiting_on_a_lock() > 0,
                 what="the erasure to wait for the other transaction (else the race is not exercised)")
    return erasing


def _states(run: Run) -> str:
    return " ".join(Checkpoint.objects.filter(run=run).values_list("delta", flat=True)) + " ".join(
        s or "" for s in Checkpoint.objects.filter(run=run).values_list("snapshot", flat=True))


def test_a_run_retried_while_the_erasure_waited_is_not_erased(letter_run, admin_user, engineer_user, wait_for):
    run = letter_run(email="ana@example.com")
    Run.objects.filter(pk=run.pk).update(status="failed")  # failed, as a retry needs

    erasing = _erase_waiting_for(lambda: run_retry(run=Run.objects.get(pk=run.pk), actor=engineer_user),
                                 actor=admin_user, thread_id=run.thread_id, wait_for=wait_for)

    with pytest.raises(ErasureError, match=rf"{run.thread_id} still running or waiting: cancel first"):
        erasing.result(timeout=30)
    assert "ana@example.com" in _states(run), "nothing was erased"
    assert not LedgerEntry.objects.filter(chain=run.thread_id, redacted=True).exists()
    # The retried run goes on from its own state.
    assert run_advance(run.pk, worker="test") == "completed"


def test_a_fork_made_while_the_erasure_waited_is_not_left_with_the_data(letter_run, admin_user, engineer_user,
                                                                        wait_for):
    parent = letter_run(email="ana@example.com")
    made = {}

    def fork() -> None:
        made["fork"] = run_fork(run=parent, at_step=3, actor=engineer_user)

    erasing = _erase_waiting_for(fork, actor=admin_user, thread_id=parent.thread_id, wait_for=wait_for)

    fork_run = made["fork"]
    with pytest.raises(ErasureError, match=rf"{fork_run.thread_id} still running or waiting: cancel first"):
        erasing.result(timeout=30)
    assert "ana@example.com" in _states(parent), "nothing was erased"
    # Once the fork is cancelled, the erasure takes the parent and the fork together.
    run_cancel(run=fork_run, actor=engineer_user)
    result = audit_erase(actor=admin_user, run=parent.thread_id)
    assert sorted(result.runs) == sorted([parent.thread_id, fork_run.thread_id])
    assert "ana@example.com" not in _states(parent) + _states(fork_run)


def test_two_erasures_of_one_run_at_once_erase_it_once(letter_run, admin_user, wait_for):
    run = letter_run(email="ana@example.com")

    erasing = _erase_waiting_for(lambda: audit_erase(actor=admin_user, run=run.thread_id),
                                 actor=admin_user, thread_id=run.thread_id, wait_for=wait_for)

    second = erasing.result(timeout=30)
    assert (second.runs, second.already_erased) == ([], [run.thread_id])
    assert LedgerEntry.objects.filter(chain=run.thread_id, kind=ERASED_KIND).count() == 1
    assert LedgerEntry.objects.filter(chain="system", kind="erasure").count() == 1
