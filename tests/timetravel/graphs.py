"""Workflows registered only by the tests that need them: one that keeps a document in the blob store
and its pointer in the state, the way `ctx.blobs` is meant to be used; one that copies a model's JSON
answer into its state as it came, "$blob" keys and all; one that shows a stored document to a reviewer
without keeping its pointer in the state."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from orchestrator.graph import END, START, GateRequest, Graph


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


filing = Graph("filing", state=Filing)
filing.node("store", store).node("summarize", summarize)
filing.edge(START, "store").edge("store", "summarize").edge("summarize", END)


class Parsed(BaseModel):
    answer: str = ""
    parsed: dict[str, Any] = {}


def parse(state: Parsed, ctx) -> dict:
    # A model's JSON answer copied into the state as it came: its keys are the model's, "$blob" included.
    return {"parsed": json.loads(state.answer)}


parsed = Graph("parsed_answer", state=Parsed)
parsed.node("parse", parse)
parsed.edge(START, "parse").edge("parse", END)
def ask_about_a_file(state: Filing, ctx) -> dict:
    # The pointer goes only into what the reviewer is asked, never into the state.
    pointer = ctx.blobs.put(state.text, content_type="text/plain")
    decision = ctx.interrupt(GateRequest(action="file", args={"file": pointer}, description="File this?"))
    return {"summary": decision.decision}


asked = Graph("asks_about_a_file", state=Filing)
asked.node("ask", ask_about_a_file)
asked.edge(START, "ask").edge("ask", END)

graphs = [filing, parsed, asked]
