"""A worker's LLM calls as the budget tests make them by hand: node "draft" of visit 0, on the
run's lease token, for the priced demo model."""

from __future__ import annotations

from orchestrator.budgets import CallRef
from orchestrator.models import Run


def leased(run: Run, token: int = 7) -> Run:
    """The run as a worker holding lease `token` sees it (running)."""
    Run.objects.filter(pk=run.pk).update(status="running", lease_token=token)
    return run


def draft_call(run: Run, index: int = 0, *, token: int = 7) -> CallRef:
    return CallRef(run_id=run.pk, lease_token=token, workflow=run.workflow, labels={}, node="draft", visit=0,
                   call_index=index, attempt=1, model="demo-small")
