"""A workflow module with a mistake its import finds (an edge to a node that is not defined)."""

from __future__ import annotations

from pydantic import BaseModel

from orchestrator.graph import START, Graph


class Note(BaseModel):
    text: str = ""


graph = Graph("edge_to_nowhere", state=Note)
graph.node("write", lambda state, ctx: {}).edge(START, "write").edge("write", "publsh")
