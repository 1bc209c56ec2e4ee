"""document_pipeline: 12 nodes over bundled sample documents, with switches to inject faults.

The loaded corpus is large enough (> 64 KB) to be offloaded to the blob store, so the state
carries a pointer. Input switches: `fail_at` + `fail_times` raise a transient error in a node,
`fail_times` times over the run's life (the retry policy absorbs up to two; more fail the run, and a
retry of it meets the rest), `crash_at` kills the worker process once at a node (the
reconciler recovers the run), and `slow_node` + `slow_seconds` make a node take a while.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Annotated

from django.conf import settings
from pydantic import BaseModel, Field

from orchestrator.demo.outbox import outbox_send
from orchestrator.graph import END, START, Graph, RetryPolicy, append

DOCUMENTS = Path(__file__).parent / "documents"
NODES = [
    "load", "extract_text", "clean", "detect_language", "classify", "extract_entities",
    "summarize", "score_risk", "redact", "compose_report", "quality_check", "archive",
]


class TransientError(RuntimeError):
    """Stands for a provider hiccup (timeout, 503): worth retrying."""


class DocumentState(BaseModel):
    documents: list[str] = ["supplier_contract", "incident_report", "policy_memo"]
    pages: int = Field(default=80, ge=1, le=2000)
    model: str = "demo-small"
    fail_at: str | None = None
    fail_times: int = Field(default=1, ge=0, le=10)
    crash_at: str | None = None
    slow_node: str | None = None
    slow_seconds: float = Field(default=0, ge=0, le=600)
    corpus: str = ""
    text: str = ""
    language: str = ""
    category: str = ""
    entities: list[str] = []
    summary: str = ""
    risk: str = ""
    redacted: str = ""
    report: str = ""
    quality: str = ""
    archived_as: str = ""
    trail: Annotated[list[str], append] = []


def _faults(state: DocumentState, ctx, node: str) -> None:
    if state.fail_at == node:
        # Counted over the run's life, not per job: a run that used up its attempts fails, and an
        # engineer's retry later meets the failures that are left, as with a provider that recovers.
        counter = Path(settings.DATA_DIR) / "crash-markers" / f"{ctx.thread_id}-{node}-failures"
        failed = int(counter.read_text() or 0) if counter.exists() else 0
        if failed < state.fail_times:
            counter.parent.mkdir(parents=True, exist_ok=True)
            counter.write_text(str(failed + 1))
            raise TransientError(f"injected transient failure in {node} (failure {failed + 1} of {state.fail_times})")
    if state.crash_at == node:
        marker = Path(settings.DATA_DIR) / "crash-markers" / f"{ctx.thread_id}-{node}"
        if not marker.exists():
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
            os._exit(137)  # a hard crash: no cleanup, no commit


def _node(name: str, body):
    def run(state: DocumentState, ctx) -> dict:
        _faults(state, ctx, name)
        update = body(state, ctx)
        if state.slow_node == name and state.slow_seconds:
            # After the node's calls, so a crash here finds them journaled (the recovery demo).
            time.sleep(state.slow_seconds)
        update["trail"] = [name]
        return update

    run.__name__ = run.__qualname__ = name
    run.__doc__ = body.__doc__
    run.__wrapped__ = body  # so the graph version hashes the body, not this wrapper
    return run


def load(state, ctx):
    """Read the bundled documents and paginate them into one large corpus."""
    texts = [(DOCUMENTS / f"{name}.txt").read_text() for name in state.documents if (DOCUMENTS / f"{name}.txt").exists()]
    corpus = "\n\n".join(f"--- page {i + 1} ---\n{texts[i % len(texts)]}" for i in range(state.pages)) if texts else ""
    return {"corpus": corpus}


def extract_text(state, ctx):
    return {"text": "\n".join(line for line in state.corpus.splitlines() if not line.startswith("--- page"))}


def clean(state, ctx):
    return {"text": re.sub(r"[ \t]+", " ", state.text).strip()}


def detect_language(state, ctx):
    return {"language": "en" if re.search(r"\b(the|and|of)\b", state.text) else "unknown"}


def classify(state, ctx):
    reply = ctx.llm(f"Classify this document set into contract, incident or policy:\n{state.text[:2000]}",
                    model=state.model, max_tokens=20)
    return {"category": reply.text.split(".")[0][:80]}


def extract_entities(state, ctx):
    reply = ctx.llm(f"List the parties and people named in:\n{state.text[:3000]}", model=state.model, max_tokens=80)
    emails = sorted(set(re.findall(r"[\w.]+@[\w.]+", state.text)))
    return {"entities": emails + [reply.text[:200]]}


def summarize(state, ctx):
    reply = ctx.llm(f"Summarize in three sentences:\n{state.text[:4000]}", model=state.model, max_tokens=200)
    return {"summary": reply.text}


def score_risk(state, ctx):
    reply = ctx.llm(f"Rate the risk (low, medium, high) of:\n{state.summary}", model=state.model, max_tokens=10)
    return {"risk": reply.text[:40]}


def redact(state, ctx):
    return {"redacted": re.sub(r"[\w.]+@[\w.]+", "[email]", state.summary)}


def compose_report(state, ctx):
    reply = ctx.llm(f"Write a short report. Category: {state.category}. Risk: {state.risk}. "
                    f"Summary: {state.redacted}", model=state.model, max_tokens=300)
    return {"report": reply.text}


def quality_check(state, ctx):
    return {"quality": "ok" if state.report else "empty report"}


def archive(state, ctx):
    result = ctx.effect("archive_report", outbox_send, "archive@gatehouse.example",
                        f"Report ({state.category.splitlines()[0][:60] if state.category else 'uncategorized'})",
                        state.report)
    return {"archived_as": (result or {}).get("message_id", "dry-run")}


_BODIES = [load, extract_text, clean, detect_language, classify, extract_entities, summarize, score_risk,
           redact, compose_report, quality_check, archive]

graph = Graph("document_pipeline", state=DocumentState,
              description="Twelve steps over sample documents: extract, classify, summarize, report, archive.")
_retry = RetryPolicy(max_attempts=3, initial_delay=0.05, max_delay=0.5, retry_on=(TransientError,))
for _name, _body in zip(NODES, _BODIES, strict=True):
    graph.node(_name, _node(_name, _body), retry=_retry)
graph.edge(START, NODES[0])
for _a, _b in zip(NODES, NODES[1:], strict=False):
    graph.edge(_a, _b)
graph.edge(NODES[-1], END)
