"""Appending to the ledger outside the executor's hot path (starts, decisions, edits, forks…)."""

from __future__ import annotations

from typing import Any

from audit.ledger import ChainCursor
from audit.models import LedgerEntry


def ledger_append(*, run: Any, kind: str, step: int | None, actor: str | None,
                  payload: dict[str, Any]) -> LedgerEntry:
    """Append one entry to `run`'s chain. The caller holds the run row lock (select_for_update)
    inside a transaction and saves `run` afterwards (its ledger_head/ledger_len are advanced here)."""
    cursor = ChainCursor(chain=run.thread_id, length=run.ledger_len, head=run.ledger_head)
    row = cursor.append(kind=kind, step=step, actor=actor, payload=payload)
    entry = LedgerEntry.objects.create(
        chain=row["run"], run_id=run.pk, seq_run=row["seq_run"], kind=kind, step=step, actor=actor,
        at=row["at"], payload=row["payload"], prev=row["prev"], hash=row["hash"],
    )
    run.ledger_len, run.ledger_head = cursor.length, cursor.head
    return entry
