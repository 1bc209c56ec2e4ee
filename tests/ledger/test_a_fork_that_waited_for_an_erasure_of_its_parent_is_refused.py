"""A fork reads its parent's state, then locks the parent to write the fork. An erasure of the parent that
commits in between (the fork waits for it on the parent's row) has removed the customer's data from the
parent: a fork made from what it read before would carry that data on in its first checkpoint, in a run
the erasure never saw. It is refused as a fork of an erased run is."""

from __future__ import annotations

import pytest

from audit.erasure import audit_erase
from orchestrator.forks import ForkError, run_fork
from orchestrator.models import Checkpoint, Run
from tests.interleave import held_open, in_a_thread, sessions_waiting_on_a_lock


def test_a_fork_that_waited_for_an_erasure_of_its_parent_is_refused(letter_run, admin_user, engineer_user, wait_for):
    parent = letter_run(email="ana@example.com")

    with held_open(lambda: audit_erase(actor=admin_user, run=parent.thread_id)):
        forking = in_a_thread(lambda: run_fork(run=parent, at_step=3, actor=engineer_user, request_key="0123abcd"))
        wait_for(lambda: sessions_waiting_on_a_lock() > 0,
                 what="the fork to wait for the erasure (else the race is not exercised)")

    with pytest.raises(ForkError, match="personal data was erased: there is no state to fork from"):
        forking.result(timeout=30)
    assert list(Run.objects.values_list("thread_id", flat=True)) == [parent.thread_id], "no fork was made"
    assert "ana@example.com" not in " ".join(
        f"{delta} {snapshot}" for delta, snapshot in Checkpoint.objects.values_list("delta", "snapshot"))
