"""A workflow whose shape cannot be right is refused when it is registered, naming the workflow and the
nodes: a node no edge leads to (it would never run: usually an edge misspelt elsewhere), nodes with no
way on to END (a run would loop until the loop guard stopped it), a router after a node that does not
exist (it was ignored), and router targets given as one string or none at all (found only by a run)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from orchestrator.graph import END, START, GateDecision, GateRequest, Graph, GraphError


class Ticket(BaseModel):
    text: str = ""
    decision: GateDecision | None = None


def step(state: Ticket, ctx) -> dict:
    return {}


def ask(state: Ticket) -> GateRequest:
    return GateRequest(action="close")


def test_a_node_nothing_leads_to_is_named():
    graph = Graph("tickets", state=Ticket).node("triage", step).node("escalate", step)
    graph.edge(START, "triage").edge("triage", END).edge("escalate", END)
    with pytest.raises(GraphError) as caught:
        graph.validate()
    assert str(caught.value) == ("tickets: no edge or router leads to 'escalate' from START, so it would never run: "
                                 "add an edge to it, or remove it.")


def test_a_loop_with_no_way_out_is_named():
    graph = Graph("tickets", state=Ticket).node("triage", step).node("answer", step)
    graph.edge(START, "triage").edge("triage", "answer").edge("answer", "triage")
    with pytest.raises(GraphError, match="tickets: from 'triage', 'answer' no path leads to END, so a run would loop "
                                         "until the loop guard stops it"):
        graph.validate()


def test_a_loop_a_router_or_a_gate_can_leave_is_accepted():
    routed = Graph("tickets", state=Ticket).node("triage", step).node("answer", step)
    routed.edge(START, "triage").edge("triage", "answer").router("answer", lambda s: END, targets=["triage", END])
    assert routed.validate() is routed
    # A gate's rejection ends the run (on_reject defaults to END): a person is the way out.
    gated = Graph("tickets", state=Ticket).node("answer", step).gate("review", request=ask, on_respond="answer")
    gated.edge(START, "answer").edge("answer", "review").edge("review", "answer")
    assert gated.validate() is gated


def test_a_router_after_an_unknown_node_is_named():
    graph = Graph("tickets", state=Ticket).node("triage", step).edge(START, "triage").edge("triage", END)
    graph.router("traige", lambda s: END, targets=[END])
    with pytest.raises(GraphError, match="tickets: router after unknown node 'traige'"):
        graph.validate()


def test_router_targets_as_one_string_are_refused():
    graph = Graph("tickets", state=Ticket).node("triage", step).node("answer", step)
    with pytest.raises(GraphError, match=r"takes targets as a list of node names, e.g. targets=\['answer', END\]"):
        graph.router("triage", lambda s: "answer", targets="answer")


def test_a_router_without_targets_is_refused():
    graph = Graph("tickets", state=Ticket).node("triage", step)
    with pytest.raises(GraphError, match="the router after 'triage' names no targets"):
        graph.router("triage", lambda s: END, targets=[])
