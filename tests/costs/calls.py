"""A worker's LLM calls as the budget tests make them by hand: node "draft" of visit 0, on the
run's lease token, for the priced demo model."""

from __future__ import annotations

from decimal import Decimal

from orchestrator.budgets import CallRef, Hold, budget_reserve
from orchestrator.journal import journal_params
from orchestrator.llm import LLMResponse
from orchestrator.models import Run
from orchestrator.state import dumps

COST = Decimal("0.004")
REPLY = LLMResponse(text="Budgets keep spend in check.", model="demo-small", provider="demo",
                    input_tokens=12, output_tokens=30)


def leased(run: Run, token: int = 7) -> Run:
    """The run as a worker holding lease `token` sees it (running)."""
    Run.objects.filter(pk=run.pk).update(status="running", lease_token=token)
    return run


def draft_call(run: Run, index: int = 0, *, token: int = 7) -> CallRef:
    return CallRef(run_id=run.pk, lease_token=token, workflow=run.workflow, labels={}, node="draft", visit=0,
                   call_index=index, attempt=1, model="demo-small")


def reserved_call(run: Run) -> tuple[Hold, dict]:
    """A call of the worker holding lease 7 (see leased), in flight: its hold taken, and the journal
    row ctx.llm would write with its settlement (REPLY, costing COST)."""
    hold = budget_reserve(call=draft_call(leased(run)), amount=Decimal("0.01"))
    journal = journal_params(
        run_id=run.pk, lease_token=7, visit=0, call_index=0, node="draft", kind="llm", name="demo-small",
        request_hash="ab" * 32, request=dumps({"prompt": "one sentence about budgets"}),
        result=dumps(REPLY.to_json()), provider=REPLY.provider, model=REPLY.model,
        input_tokens=REPLY.input_tokens, output_tokens=REPLY.output_tokens, cost=COST, latency_ms=5.0,
    )
    return hold, journal
