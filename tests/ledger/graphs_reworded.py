"""The ledger letter workflow after a deploy that only rewords its node: the same structure (so runs
in flight go on with it), other code (so another version)."""

from __future__ import annotations

from tests.ledger.graphs import Letter, letter_of


def write(state: Letter, ctx) -> dict:
    return {"text": f"Hello {state.customer_email}, step {state.steps + 1}",
            "notes": [f"wrote to {state.customer_email}"], "steps": state.steps + 1}


reworded = letter_of(write)

graphs = [reworded]
