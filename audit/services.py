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


SYSTEM_CHAIN = "system"


def system_chain_lock() -> None:
    """Queue behind every system chain writer until this transaction ends. A change that reads the
    setting it is about to record (its previous value) takes it first, so two changes at once are
    recorded in the order they were made, each with the value it really replaced."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('gatehouse:ledger:system'))")


def system_ledger_append(*, kind: str, actor: str | None, payload: dict[str, Any]) -> LedgerEntry:
    """Append to the system chain (exports, erasures, prunes, alerts: entries outside any run).

    1. The advisory lock is the one orchestrator.cost_alerts takes, so every system writer queues
       behind the same lock; 2. locking the head row gives this transaction its xid before the
       entry takes its gseq (the sealer relies on that, see audit/sealing.py); 3. the head row is
       advanced by a guarded UPDATE from exactly the head this entry extends. (This was a trigger
       on every ledger insert; it cost every step commit ~0.02 ms for entries steps never write.
       A raw insert that bypassed this function could not fork the chain either: the next entry
       here would take the same number and the unique (chain, seq_run) index refuses it.)
    """
    from django.db import transaction

    from audit.models import SystemChainHead

    with transaction.atomic():
        system_chain_lock()
        head = SystemChainHead.objects.select_for_update().filter(pk=1).first()
        cursor_ = ChainCursor(chain=SYSTEM_CHAIN, length=head.length if head else 0,
                              head=head.head if head else "0" * 64)
        row = cursor_.append(kind=kind, step=None, actor=actor, payload=payload)
        entry = LedgerEntry.objects.create(
            chain=SYSTEM_CHAIN, run=None, seq_run=row["seq_run"], kind=kind, step=None, actor=actor,
            at=row["at"], payload=row["payload"], prev=row["prev"], hash=row["hash"],
        )
        if head is None:
            SystemChainHead.objects.create(pk=1, length=row["seq_run"], head=row["hash"])
        elif SystemChainHead.objects.filter(pk=1, length=row["seq_run"] - 1, head=row["prev"]).update(
                length=row["seq_run"], head=row["hash"]) != 1:
            raise RuntimeError(f"system chain entry {row['seq_run']} does not extend the chain head")
        return entry
