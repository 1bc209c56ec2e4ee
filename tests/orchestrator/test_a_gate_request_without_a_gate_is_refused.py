"""`request=` (or `on_reject=`, `on_respond=`) on a node without `interrupt_before`/`interrupt_after`
used to be dropped without a word: it reads as an approval gate, yet the node ran, and acted, without
anyone being asked. It is refused where the workflow is defined, saying how to make it a gate."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from orchestrator.graph import END, GateDecision, GateRequest, Graph, GraphError


class Payment(BaseModel):
    amount: int = 0
    decision: GateDecision | None = None


def pay(state: Payment, ctx) -> dict:
    return {}


def approve_payment(state: Payment) -> GateRequest:
    return GateRequest(action="pay", args={"amount": state.amount})


def test_a_request_without_a_gate_is_refused_saying_how_to_ask():
    with pytest.raises(GraphError) as caught:
        Graph("payments", state=Payment).node("pay", pay, request=approve_payment)
    assert str(caught.value) == (
        "payments: node 'pay' has request= but no gate, so it would run without asking anyone: add "
        "interrupt_before=True (ask before it runs) or interrupt_after=True (ask after), or make the gate its own "
        "node with graph.gate(...).")


def test_gate_routes_without_a_gate_are_refused_too():
    with pytest.raises(GraphError, match="node 'pay' has on_reject= and on_respond= but no gate"):
        Graph("payments", state=Payment).node("pay", pay, on_reject=END, on_respond="pay")


@pytest.mark.parametrize("when", ["interrupt_before", "interrupt_after"])
def test_a_request_with_its_gate_is_accepted(when):
    graph = Graph("payments", state=Payment).node("pay", pay, request=approve_payment, **{when: True})
    assert graph.nodes["pay"].request is approve_payment
