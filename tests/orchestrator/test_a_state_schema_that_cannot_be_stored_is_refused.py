"""A state schema the engine cannot store is refused when the workflow is defined, naming the workflow
and the field: a plain class or dict instead of a pydantic model, a field type with no JSON form (both
used to surface as an AttributeError or pydantic traceback from `runs workflows` or the first run
start), and a decision field whose type refuses a decision (it failed the reviewer's decision)."""

from __future__ import annotations

import datetime

import pytest
from pydantic import BaseModel, ConfigDict

from orchestrator.graph import END, START, GateDecision, GateRequest, Graph, GraphError


class Connection:
    """Something a hurried engineer keeps in the state: not data."""


class WithAConnection(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    topic: str = ""
    connection: Connection | None = None


class DecisionAsText(BaseModel):
    decision: str = ""


class Dated(BaseModel):
    due: datetime.date | None = None
    tags: set[str] = set()
    decision: GateDecision | None = None


def step(state, ctx) -> dict:
    return {}


def ask(state) -> GateRequest:
    return GateRequest(action="ok")


def _one_node(graph: Graph) -> Graph:
    return graph.node("step", step).edge(START, "step").edge("step", END)


def test_a_state_that_is_not_a_pydantic_model_is_refused():
    with pytest.raises(GraphError, match=r"notes: state= takes a pydantic model class \(class MyState\(BaseModel\)"):
        Graph("notes", state=dict)


def test_a_field_with_no_json_form_is_named():
    graph = _one_node(Graph("notes", state=WithAConnection))
    with pytest.raises(GraphError, match=r"notes: state field 'connection' has type .*Connection \| None, which has no "
                                         r"JSON form \(state is stored as JSON\)"):
        graph.validate()


def test_a_decision_field_that_refuses_decisions_is_refused():
    graph = Graph("notes", state=DecisionAsText).gate("review", request=ask)
    graph.edge(START, "review").edge("review", END)
    with pytest.raises(GraphError, match="notes: the state field 'decision' receives gate decisions: declare it as "
                                         r"GateDecision \| None = None"):
        graph.validate()


def test_fields_pydantic_reads_back_from_json_are_accepted():
    graph = Graph("notes", state=Dated).gate("review", request=ask)
    graph.edge(START, "review").edge("review", END)
    assert graph.validate().version
