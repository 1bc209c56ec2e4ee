"""Time-travel fixtures: real runs of the demo workflows, advanced in-process by the real executor.

The executor manages its own transactions (one statement per step), so these tests use
`transactional_db` rather than the per-test transaction of `db`.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from audit.models import LedgerEntry
from orchestrator.executor import run_advance
from orchestrator.models import Checkpoint, Run, RunStatus
from orchestrator.services import run_start
from tests.review.fixtures import outreach_item  # noqa: F401  (fixture)


def advance(run: Run) -> Run:
    """Advance a run in this process until it stops moving (completed, suspended, failed…)."""
    for _ in range(100):
        run.refresh_from_db()
        if run.status != RunStatus.QUEUED:
            return run
        run_advance(run.pk, worker="test-worker")
    raise AssertionError(f"run {run.thread_id} is still queued after 100 advances")


@pytest.fixture
def outreach_parent(outreach_item) -> tuple[Run, int]:  # noqa: F811
    """(an outreach run waiting at its gate, the step of the checkpoint just before the gate): a run to
    fork with edits to its nested object, flag, count and date."""
    item = outreach_item()
    step = Checkpoint.objects.filter(run=item.run, next_node="approve_outreach").order_by("step").first().step
    return item.run, step


def no_fork_was_made(run: Run) -> None:
    """A refused fork left nothing behind: no child run, no fork entry in the parent's ledger chain."""
    assert not Run.objects.filter(parent=run).exists()
    assert not LedgerEntry.objects.filter(chain=run.thread_id, kind="fork").exists()


@pytest.fixture
def advance_run() -> Callable[[Run], Run]:
    return advance


@pytest.fixture
def pipeline_run(transactional_db, engineer_user) -> Run:
    """A completed document_pipeline run (12 nodes, 5 LLM calls, one archive effect)."""
    run = run_start(workflow="document_pipeline", input={"pages": 30}, actor=engineer_user)
    run = advance(run)
    assert run.status == RunStatus.COMPLETED, run.error
    return run


@pytest.fixture
def engineer_api(api, engineer_user):
    """A JSON API client with a Bearer token of the engineer's."""
    return api(engineer_user)
