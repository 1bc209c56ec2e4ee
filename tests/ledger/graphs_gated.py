"""The ledger letter workflow after a deploy that put a person in front of it: the same name, a
gate after the first step (two approvals from the legal group). Its first run must record the change."""

from __future__ import annotations

from orchestrator.graph import END, START, GateDecision, GateRequest, Graph
from tests.ledger.graphs import Letter, write


class GatedLetter(Letter):
    decision: GateDecision | None = None


def sign_off(state: GatedLetter) -> GateRequest:
    return GateRequest(action="send_letter", description=state.text, reviewer_group="legal",
                       required_approvals=2)


gated = Graph("ledger_letter", state=GatedLetter)
gated.node("write_1", write, interrupt_after=True, request=sign_off)
gated.edge(START, "write_1")
gated.edge("write_1", END)

graphs = [gated]
