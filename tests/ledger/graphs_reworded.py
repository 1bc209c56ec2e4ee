"""The ledger letter workflow after a deploy that only rewords its node: the same structure (so runs
in flight go on with it), other code (so another version)."""

from __future__ import annotations

from orchestrator.graph import END, START, Graph
from tests.ledger.graphs import STEPS, Letter


def write(state: Letter, ctx) -> dict:
    return {"text": f"Hello {state.customer_email}, step {state.steps + 1}",
            "notes": [f"wrote to {state.customer_email}"], "steps": state.steps + 1}


reworded = Graph("ledger_letter", state=Letter)
previous = START
for n in range(1, STEPS + 1):
    reworded.node(f"write_{n}", write)
    reworded.edge(previous, f"write_{n}")
    previous = f"write_{n}"
reworded.edge(previous, END)

graphs = [reworded]
