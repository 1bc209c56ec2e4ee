"""A payment workflow whose gate is configured from its input, so tests can ask for four-eyes,
deadlines, expiry policies and typed arguments (int, bool, long text) without one graph each."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from orchestrator.graph import END, START, GateDecision, GateRequest, Graph


class Payment(BaseModel):
    payee: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    amount: int = Field(ge=1, le=1_000_000)
    urgent: bool = False
    memo: str = Field(default="", max_length=2000)
    approvals: int = 1
    due_in: int | None = None
    on_expiry: Literal["reject", "escalate"] = "reject"
    escalate_to: str = "admin"
    group: str = "reviewer"
    decision: GateDecision | None = None
    paid: bool = False


def prepare(state: Payment, ctx) -> dict:
    return {"memo": state.memo or f"Invoice payment of {state.amount} to {state.payee}."}


def payment_request(state: Payment) -> GateRequest:
    return GateRequest(
        action="pay_invoice", args={"payee": state.payee, "amount": state.amount, "urgent": state.urgent,
                                    "memo": state.memo},
        description=f"Pay **{state.amount}** to {state.payee}.", relevant=["approvals"], risk="critical",
        reviewer_group=state.group, required_approvals=state.approvals, due_in_seconds=state.due_in,
        on_expiry=state.on_expiry, escalate_to=state.escalate_to,
    )


def pay(state: Payment, ctx) -> dict:
    return {"paid": True}


graph = Graph("payment", state=Payment, description="Pay an invoice after people approve it.")
graph.node("prepare", prepare)
graph.gate("approve_payment", request=payment_request, on_reject=END)
graph.node("pay", pay)
graph.edge(START, "prepare").edge("prepare", "approve_payment").edge("approve_payment", "pay").edge("pay", END)
