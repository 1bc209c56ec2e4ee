"""A workflow that keeps a document in the blob store and its pointer in the state, the way
`ctx.blobs` is meant to be used (registered only by the tests that need it)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from orchestrator.graph import END, START, Graph


class Filing(BaseModel):
    text: str = ""
    document: dict[str, Any] = {}  # its name, and under "file" the pointer ctx.blobs.put() made
    title: str = ""
    summary: str = ""


def store(state: Filing, ctx) -> dict:
    return {"document": {"name": "note.txt", "file": ctx.blobs.put(state.text, content_type="text/plain")},
            "text": ""}


def summarize(state: Filing, ctx) -> dict:
    return {"summary": ctx.blobs.get(state.document["file"]).decode()[:40]}


graph = Graph("filing", state=Filing)
graph.node("store", store).node("summarize", summarize)
graph.edge(START, "store").edge("store", "summarize").edge("summarize", END)
