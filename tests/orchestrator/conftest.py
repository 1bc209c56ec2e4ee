from __future__ import annotations

import pytest

from orchestrator.executor import run_advance
from orchestrator.models import Run
from orchestrator.registry import workflows
from orchestrator.services import run_start


@pytest.fixture
def test_graphs(register_workflows):
    """Register the small workflows of tests/orchestrator/graphs.py for one test."""
    register_workflows("tests.orchestrator.graphs")


@pytest.fixture
def workflow_modules(settings):
    """workflow_modules([...]): GATEHOUSE_WORKFLOWS is exactly those modules for one test (the registry
    is read again from them; register_workflows adds one to the defaults instead)."""

    def use(modules: list[str]) -> None:
        settings.GATEHOUSE_WORKFLOWS = list(modules)
        workflows.cache_clear()

    yield use
    workflows.cache_clear()


@pytest.fixture
def waiting(db) -> Run:
    """An email_approval run waiting at its gate: checkpoints 0 (input), 1 (draft) and 2 (gate)."""
    run = run_start(workflow="email_approval", input={"to": "ana@example.com", "topic": "Q3"})
    assert run_advance(run.pk, worker="test") == "suspended"
    run.refresh_from_db()  # as the worker left it: suspended, at step 2
    return run


@pytest.fixture
def pruned_run(transactional_db, redis_conn, settings, tmp_path) -> Run:
    """A completed document_pipeline run whose history retention pruned (sealed first, as pruning needs)."""
    from datetime import timedelta

    from django.utils import timezone

    from audit.retention import retention_prune
    from audit.sealing import ledger_seal

    settings.GATEHOUSE_SEAL_DIR = tmp_path / "seals"
    run = run_start(workflow="document_pipeline", input={"pages": 2})
    assert run_advance(run.pk, worker="test") == "completed"
    Run.objects.filter(pk=run.pk).update(finished_at=timezone.now() - timedelta(days=401))
    assert ledger_seal() is not None
    assert retention_prune(dry_run=False, actor="admin").due == [run.thread_id]
    return run
