"""The call journal: one row per ctx call (LLM call, side effect, interrupt answer) per node visit.

Rows are written as soon as a call returns (write-ahead), guarded by the lease token, because a
crash before the step commit must not lose the fact that the call was made and paid for. An LLM
call's row is written by the same statement that settles its budget hold (orchestrator.budgets),
so a priced call costs one round trip after the provider answers, not two.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db import connection

from orchestrator.commit import LeaseLost
from orchestrator.prepared import execute_prepared
from orchestrator.state import loads


@dataclass
class JournalRow:
    call_index: int
    kind: str
    name: str
    request_hash: str
    result: Any
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cost: Decimal = Decimal(0)


class LazyJournal:
    """The journal of one node visit, read on the first ctx call: a node that makes no outside
    calls (most steps of most graphs) costs no journal query at all."""

    def __init__(self, run_id: int, visit: int) -> None:
        self.run_id, self.visit = run_id, visit
        self._rows: dict[int, JournalRow] | None = None

    def get(self, index: int) -> JournalRow | None:
        if self._rows is None:
            self._rows = journal_load(self.run_id, self.visit)
        return self._rows.get(index)


def journal_load(run_id: int, visit: int) -> dict[int, JournalRow]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT call_index, kind, name, request_hash, result, input_tokens, output_tokens, cached_tokens, cost"
            " FROM orchestrator_journalentry WHERE run_id = %s AND visit = %s",
            [run_id, visit],
        )
        return {
            row[0]: JournalRow(row[0], row[1], row[2], row[3], loads(row[4]), row[5], row[6], row[7], row[8])
            for row in cursor.fetchall()
        }


_COLUMNS = ("visit", "call_index", "node", "kind", "name", "request_hash", "request", "result", "provider", "model",
            "input_tokens", "output_tokens", "cached_tokens", "cost", "latency_ms", "idempotency_key", "replayed",
            "dry_run", "created_at")


def journal_insert_sql(prefix: str = "", *, guard: str = "") -> str:
    """The guarded journal INSERT (no row if the lease token moved on, or if the extra SQL condition
    `guard` is false), with parameter names prefixed so it can sit in a larger statement. Returns
    one row when written.

    The run row is read FOR KEY SHARE, which conflicts with the two changes of token that take the
    run from its worker, a cancel (FOR UPDATE, services.run_cancel) and another worker's claim (FOR
    UPDATE, executor._CLAIM), and with nothing the worker itself takes (its heartbeat and step commit
    are no-key updates). Read without a lock, the lease check used the snapshot from before a cancel
    or claim that was still open: a row inserted then was committed after the cancel counted the
    visit (journaled, never counted), or after the new worker read the journal (which paid for the
    call again and crashed on the unique key). Now
      1. a journal insert that comes first holds the row until it commits, so the cancel's count,
         or the new worker's journal read, which wait for it, see the row;
      2. one that comes second waits for the cancel or claim to commit, then reads the row again,
         finds the lease token moved on and inserts nothing (the settlement counts the call
         instead, budgets._FENCED_CALL_COUNTED: the provider billed it).
    It costs no extra row write: the journal's foreign key check takes this very lock on the run
    row at commit anyway. (A lock the claim's no-key UPDATE conflicts with, FOR SHARE or stronger,
    would do too, but would also queue the worker's own heartbeat behind every call it journals;
    the claim, once per job, pays instead.)"""
    values = ", ".join(f"%({prefix}{column})s" for column in _COLUMNS)
    return (
        f"INSERT INTO orchestrator_journalentry (run_id, {', '.join(_COLUMNS)})\n"
        f"SELECT id, {values}\n"
        f"FROM orchestrator_run WHERE id = %({prefix}run_id)s AND lease_token = %({prefix}lease_token)s\n"
        + (f"  AND {guard}\n" if guard else "")
        + "FOR KEY SHARE OF orchestrator_run\n"
        + "RETURNING 1"
    )


def journal_params(*, run_id: int, lease_token: int, visit: int, call_index: int, node: str, kind: str,
                   **fields: Any) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "lease_token": lease_token,
        "visit": visit,
        "call_index": call_index,
        "node": node,
        "kind": kind,
        "name": "",
        "request_hash": "",
        "request": "{}",
        "result": "null",
        "provider": "",
        "model": "",
        "input_tokens": 0,
        "output_tokens": 0,
        "cached_tokens": 0,
        "cost": Decimal(0),
        "latency_ms": 0.0,
        "idempotency_key": "",
        "replayed": False,
        "dry_run": False,
        "created_at": datetime.now(UTC),
        **fields,
    }


_INSERT = journal_insert_sql()


def journal_write(*, run_id: int, lease_token: int, visit: int, call_index: int, node: str, kind: str,
                  **fields: Any) -> None:
    params = journal_params(run_id=run_id, lease_token=lease_token, visit=visit, call_index=call_index, node=node,
                            kind=kind, **fields)
    if execute_prepared(_INSERT, params) is None:
        raise LeaseLost(f"run {run_id}: lost the lease while journaling a call of node {node!r}")


# The lease must be live too, not only unclaimed by another: once it lapses another worker may claim
# the run and act at any moment, and both would act (with one idempotency key, but not every outside
# system drops a repeat). The database's clock, as the claim and the heartbeat use.
_STILL_OURS = ("SELECT 1 FROM orchestrator_run WHERE id = %(run_id)s AND lease_token = %(lease_token)s"
               " AND status = 'running' AND lease_expires_at > statement_timestamp()")


def journal_fence(*, run_id: int, lease_token: int, node: str, action: str) -> None:
    """Raise LeaseLost unless this writer still owns the running run, checked just before an action
    that cannot be taken back. The step commit fences a stale or cancelled writer's *record*; this
    fences its *act*: without it a node cancelled mid-visit (cancel bumps the token) would still
    send its e-mail or move its money, and only the journal row afterwards would be refused."""
    if execute_prepared(_STILL_OURS, {"run_id": run_id, "lease_token": lease_token}) is None:
        raise LeaseLost(f"run {run_id}: node {node!r} no longer owns the run (cancelled, its lease lapsed, or "
                        f"another worker took it over); {action} was not carried out")
