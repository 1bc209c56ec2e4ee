"""A routing mistake that involves START or END names them as the workflow author wrote them: the
constants, not the '__end__' / '__start__' strings behind them, which appear nowhere in their code and
read like a node someone misspelt."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from orchestrator.graph import END, START, Graph, GraphError


class Ticket(BaseModel):
    text: str = ""


def step(state: Ticket, ctx) -> dict:
    return {}


def test_a_router_that_ends_the_run_where_it_may_not_says_END():
    graph = Graph("tickets", state=Ticket).node("triage", step).node("answer", step)
    graph.edge(START, "triage").router("triage", lambda s: END, targets=["answer"]).edge("answer", END)
    graph.validate()
    with pytest.raises(GraphError) as caught:
        graph.next_after("triage", Ticket())
    assert str(caught.value) == "tickets: router after 'triage' returned END; expected one of ['answer']."


def test_a_router_choice_list_shows_END_beside_the_nodes():
    graph = Graph("tickets", state=Ticket).node("triage", step).node("answer", step)
    graph.edge(START, "triage").router("triage", lambda s: "anwser", targets=["answer", END]).edge("answer", END)
    with pytest.raises(GraphError) as caught:
        graph.next_after("triage", Ticket())
    assert str(caught.value) == "tickets: router after 'triage' returned 'anwser'; expected one of ['answer', END]."


def test_an_edge_back_to_START_names_the_first_node_instead():
    graph = Graph("tickets", state=Ticket).node("triage", step)
    graph.edge(START, "triage").edge("triage", START)
    with pytest.raises(GraphError) as caught:
        graph.validate()
    assert str(caught.value) == ("tickets: edge from 'triage' to START: a run cannot go back to its start; "
                                 "name the first node instead ('triage').")
