"""research_agent: an agent loop (search → reflect → search …) that the loop guard can stop."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from orchestrator.graph import END, START, GateDecision, Graph, append


class ResearchState(BaseModel):
    question: str = Field(min_length=1)
    notes: Annotated[list[str], append] = []
    iterations: int = 0
    max_iterations: int = Field(default=3, ge=1, le=1000)
    # "stuck" makes the search return nothing new, so the state repeats and the loop guard fires.
    mode: Literal["normal", "stuck"] = "normal"
    answer: str = ""
    model: str = "demo-small"
    decision: GateDecision | None = None


def search(state: ResearchState, ctx) -> dict:
    if state.mode == "stuck":
        return {}
    reply = ctx.llm(f"Find one fact about: {state.question} (round {state.iterations + 1})",
                    model=state.model, max_tokens=120)
    return {"notes": [reply.text], "iterations": state.iterations + 1}


def reflect(state: ResearchState, ctx) -> dict:
    return {}


def enough(state: ResearchState) -> str:
    return "answer" if state.iterations >= state.max_iterations else "search"


def answer(state: ResearchState, ctx) -> dict:
    reply = ctx.llm("Answer the question using these notes:\n" + "\n".join(state.notes)
                    + f"\nQuestion: {state.question}", model=state.model, max_tokens=300)
    return {"answer": reply.text}


graph = Graph("research_agent", state=ResearchState, description="Search and reflect in a loop, then answer.",
              max_visits=25)
graph.node("search", search)
graph.node("reflect", reflect)
graph.node("answer", answer)
graph.edge(START, "search").edge("search", "reflect").router("reflect", enough, ["search", "answer"])
graph.edge("answer", END)
