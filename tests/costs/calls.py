"""A worker's LLM calls as the budget tests make them by hand: node "draft" of visit 0, on the
run's lease token, for the priced demo model."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from orchestrator.budgets import CallRef, Hold, budget_reserve, budget_settle
from orchestrator.commit import LeaseLost
from orchestrator.context import request_hash
from orchestrator.journal import journal_params
from orchestrator.llm import LLMRequest, LLMResponse
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


def probe_first_request(model: str) -> LLMRequest:
    """The request the probe workflow's first node ("draft") makes first, on its default input."""
    return LLMRequest(model=model, messages=({"role": "user", "content": "draft #0: one sentence about budgets"},),
                      max_tokens=200)


def reserved_call(run: Run, *, request: LLMRequest | None = None) -> tuple[Hold, dict]:
    """A call of the worker holding lease 7 (see leased), in flight: its hold taken, and the journal
    row ctx.llm would write with its settlement (REPLY, costing COST). With `request` (say
    probe_first_request), the row records that request, so a worker that runs the node again finds
    the call recorded at its place."""
    model = request.model if request else "demo-small"
    hold = budget_reserve(call=replace(draft_call(leased(run)), model=model), amount=Decimal("0.01"))
    journal = journal_params(
        run_id=run.pk, lease_token=7, visit=0, call_index=0, node="draft", kind="llm", name=model,
        request_hash=request_hash(request.canonical()) if request else "ab" * 32,
        request=dumps(request.canonical() if request else {"prompt": "one sentence about budgets"}),
        result=dumps(REPLY.to_json()), provider=REPLY.provider, model=REPLY.model,
        input_tokens=REPLY.input_tokens, output_tokens=REPLY.output_tokens, cost=COST, latency_ms=5.0,
    )
    return hold, journal


def settle_journaled(call: tuple[Hold, dict]) -> bool:
    """The worker's settle-and-journal statement for a reserved_call (REPLY, costing COST); whether the
    journal took the call (False: the lease had moved on, so the call is booked but not journaled)."""
    hold, journal = call
    try:
        budget_settle(sum_node_spend=False, hold=hold, response=REPLY, cost=COST, latency_ms=5.0, journal=journal)
    except LeaseLost:
        return False
    return True
