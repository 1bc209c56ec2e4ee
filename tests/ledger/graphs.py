"""Workflows used only by the ledger tests: a chain of plain steps that carry a customer's text."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel

from orchestrator.graph import END, START, Graph, append


class Letter(BaseModel):
    customer_email: str = ""
    text: str = ""
    notes: Annotated[list[str], append] = []
    steps: int = 0


def file_letter(idempotency_key: str, email: str) -> dict:
    return {"filed_for": email}


def write(state: Letter, ctx) -> dict:
    # An effect whose arguments carry the customer's email: its journal row keeps a digest of them.
    ctx.effect("file_letter", file_letter, state.customer_email)
    return {"text": f"Dear {state.customer_email}, step {state.steps + 1}",
            "notes": [f"wrote to {state.customer_email}"], "steps": state.steps + 1}


STEPS = 6


def letter_of(step_fn) -> Graph:
    """STEPS nodes in a row, each running `step_fn`."""
    graph = Graph("ledger_letter", state=Letter)
    previous = START
    for n in range(1, STEPS + 1):
        graph.node(f"write_{n}", step_fn)
        graph.edge(previous, f"write_{n}")
        previous = f"write_{n}"
    return graph.edge(previous, END)


letter = letter_of(write)
graphs = [letter]
