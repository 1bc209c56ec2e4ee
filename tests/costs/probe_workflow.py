"""A test workflow whose LLM spend is easy to predict: `calls` calls per node, two nodes.

Registered only in tests (settings.GATEHOUSE_WORKFLOWS / the workers' env), never in the product.
"""

from __future__ import annotations

from pydantic import BaseModel

from orchestrator.graph import END, START, GateDecision, Graph


class ProbeState(BaseModel):
    topic: str = "budgets"
    model: str = "demo-small"
    calls: int = 2
    max_tokens: int = 200
    stream: bool = False
    replies: list[str] = []
    decision: GateDecision | None = None


def _ask(state: ProbeState, ctx, node: str) -> dict:
    replies = []
    for i in range(state.calls):
        reply = ctx.llm(f"{node} #{i}: one sentence about {state.topic}", model=state.model,
                        max_tokens=state.max_tokens, stream=state.stream)
        replies.append(reply.text)
    return {"replies": state.replies + replies}


def draft(state: ProbeState, ctx) -> dict:
    return _ask(state, ctx, "draft")


def polish(state: ProbeState, ctx) -> dict:
    return _ask(state, ctx, "polish")


graph = Graph("cost_probe", state=ProbeState, description="Predictable LLM spend for budget tests.")
graph.node("draft", draft)
graph.node("polish", polish)
graph.edge(START, "draft").edge("draft", "polish").edge("polish", END)
