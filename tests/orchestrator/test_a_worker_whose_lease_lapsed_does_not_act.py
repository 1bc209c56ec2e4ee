"""A worker that stalled past its lease does not carry out a side effect: once the lease has lapsed
another worker may claim the run at any moment and act too. It stops; the run is taken up again
from its last checkpoint, and the effect happens once."""

from __future__ import annotations

from orchestrator.executor import run_advance
from orchestrator.models import JournalEntry, Run, RunStatus
from orchestrator.services import run_start
from tests.orchestrator.graphs import SENT, STALLS


def test_the_effect_waits_for_a_worker_holding_a_live_lease(db, test_graphs):
    SENT.clear()
    STALLS["left"] = 1
    run = run_start(workflow="lease_lapsed_mid_node")

    assert run_advance(run.pk, worker="stalled") == "lease_lost"
    assert SENT == [], "the stalled worker acted after its lease had lapsed"
    assert Run.objects.get(pk=run.pk).status == RunStatus.RUNNING

    assert run_advance(run.pk, worker="next") == "completed"
    assert len(SENT) == 1
    assert JournalEntry.objects.filter(run=run, kind="effect").count() == 1
