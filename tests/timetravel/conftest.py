"""Time-travel fixtures: real runs of the demo workflows, advanced in-process by the real executor.

The executor manages its own transactions (one statement per step), so these tests use
`transactional_db` rather than the per-test transaction of `db`.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from orchestrator.executor import run_advance
from orchestrator.models import Run, RunStatus
from orchestrator.services import run_start


def advance(run: Run) -> Run:
    """Advance a run in this process until it stops moving (completed, suspended, failed…)."""
    for _ in range(100):
        run.refresh_from_db()
        if run.status != RunStatus.QUEUED:
            return run
        run_advance(run.pk, worker="test-worker")
    raise AssertionError(f"run {run.thread_id} is still queued after 100 advances")


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
