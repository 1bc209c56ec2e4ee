"""A node, gate request builder or router the engine could not call is refused on the line that adds
it, naming the workflow and the node: not by the first run that reaches it, after its retries, or
with a person already waiting on the gate before it."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from orchestrator.graph import END, START, GateDecision, GateRequest, Graph, GraphError, RetryPolicy


class State(BaseModel):
    note: str = ""
    decision: GateDecision | None = None


def draft(state: State, ctx) -> dict:
    return {"note": "drafted"}


def draft_without_ctx(state: State) -> dict:
    return {"note": "drafted"}


def review(state: State) -> GateRequest:
    return GateRequest(action="send")


def test_a_node_without_its_ctx_parameter_is_refused_naming_it():
    graph = Graph("hurried", state=State)
    with pytest.raises(GraphError) as caught:
        graph.node("draft", draft_without_ctx)
    assert str(caught.value) == ("hurried: node 'draft' is called as fn(state, ctx) -> dict, but "
                                 "draft_without_ctx(state: 'State') -> 'dict' cannot be called so: give it exactly "
                                 "those parameters.")


def test_a_node_that_is_not_a_function_is_refused():
    with pytest.raises(GraphError, match=r"hurried: node 'draft' must be a function fn\(state, ctx\) -> dict, "
                                         r"not a str\."):
        Graph("hurried", state=State).node("draft", "draft")


def test_a_gate_given_a_request_instead_of_its_builder_is_refused():
    with pytest.raises(GraphError, match=r"the gate request builder of 'review' must be a function fn\(state\) -> "
                                         r"GateRequest, not a GateRequest \(pass a function that builds it"):
        Graph("hurried", state=State).gate("review", request=GateRequest(action="send"))


def test_a_gate_request_builder_taking_ctx_is_refused():
    with pytest.raises(GraphError, match=r"the gate request builder of 'send' is called as fn\(state\)"):
        Graph("hurried", state=State).node("send", draft, interrupt_before=True, request=draft)


def test_a_router_taking_two_arguments_is_refused():
    graph = Graph("hurried", state=State).node("draft", draft)
    with pytest.raises(GraphError, match=r"the router after 'draft' is called as fn\(state\) -> the next node's name"):
        graph.router("draft", lambda state, ctx: END, targets=[END])


def test_a_misspelt_option_is_refused_naming_the_options():
    with pytest.raises(GraphError, match="node 'draft' got unknown option retires; the options are retry, "
                                         "interrupt_before"):
        Graph("hurried", state=State).node("draft", draft, retires=3)


def test_a_retry_that_is_not_a_policy_is_refused():
    # It used to surface only when the node first raised: inside the executor's error handling, as a
    # crashed job the reconciler queued again and again.
    with pytest.raises(GraphError, match=r"node 'draft' got retry=3; give a RetryPolicy"):
        Graph("hurried", state=State).node("draft", draft, retry=3)


def test_a_node_name_that_is_not_text_is_refused():
    with pytest.raises(GraphError, match="node names are text, not int 3"):
        Graph("hurried", state=State).node(3, draft)


@pytest.mark.parametrize("name", ["", "my flow", "emails/outbound", "-leading", "x" * 190])
def test_a_workflow_name_that_cannot_start_a_thread_id_is_refused(name):
    with pytest.raises(GraphError, match="it starts every run's thread id"):
        Graph(name, state=State)


def test_what_the_engine_can_call_is_accepted():
    graph = Graph("careful", state=State)
    graph.node("draft", draft, retry=RetryPolicy(max_attempts=2))
    graph.gate("review", request=review)
    graph.node("send", lambda state, ctx: {}, interrupt_before=True, request=lambda state: review(state))
    graph.edge(START, "draft").edge("draft", "review").edge("review", "send")
    graph.router("send", lambda state: END, targets=[END])
    assert graph.validate() is graph
