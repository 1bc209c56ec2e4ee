"""Runs as retention finds them: finished longer ago than their period, their history sealed."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from audit.retention import PrunePlan, retention_prune
from audit.sealing import ledger_seal
from orchestrator.models import Run


def finished_long_ago(run: Run, *, status: str) -> Run:
    """`run`, ended with `status` 401 days ago (past the default 400-day period), the ledger sealed."""
    Run.objects.filter(pk=run.pk).update(status=status, finished_at=timezone.now() - timedelta(days=401))
    assert ledger_seal() is not None  # only sealed history is pruned
    return Run.objects.get(pk=run.pk)


def prune_now() -> PrunePlan:
    return retention_prune(dry_run=False, actor="admin")
