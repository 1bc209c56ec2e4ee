"""A payment whose note a model drafts, and whose gate describes it by that note: what the model wrote
reaches the inbox's one-line summary, the description and an argument, whatever characters it holds."""

from __future__ import annotations

from pydantic import BaseModel

from orchestrator.graph import END, START, GateDecision, GateRequest, Graph


class DraftedPayment(BaseModel):
    payee: str = "ap@supplier.example"
    note: str = ""
    decision: GateDecision | None = None


def draft(state: DraftedPayment, ctx) -> dict:
    # A model the fake provider answers (tests.fakes), so a test decides what it writes.
    return {"note": ctx.llm(f"Write a payment note for {state.payee}.", model="gpt-4o-mini", max_tokens=50).text}


def payment_request(state: DraftedPayment) -> GateRequest:
    return GateRequest(action="pay_invoice", args={"payee": state.payee, "note": state.note},
                       description=state.note, risk="critical")


graph = Graph("drafted_payment", state=DraftedPayment, description="Pay as a drafted note says, once approved.")
graph.node("draft", draft)
graph.gate("approve_payment", request=payment_request, on_reject=END)
graph.edge(START, "draft").edge("draft", "approve_payment").edge("approve_payment", END)
