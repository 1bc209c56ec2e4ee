"""Another workflow under a name the demo already registers."""

from __future__ import annotations

from pydantic import BaseModel

from orchestrator.graph import END, START, Graph


class Note(BaseModel):
    text: str = ""


graph = Graph("email_approval", state=Note)
graph.node("write", lambda state, ctx: {}).edge(START, "write").edge("write", END)
