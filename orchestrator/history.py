"""Reading a run's history: rebuild the state at any checkpoint exactly as it was committed."""

from __future__ import annotations

from typing import Any

from django.db import connection

from orchestrator.state import apply_delta, hydrate_state, loads


def state_at(run_id: int, step: int, *, hydrate: bool = False) -> dict[str, Any]:
    """The state after checkpoint `step`: the nearest snapshot at or before it, plus the deltas since.

    One query: snapshots are written at least every GATEHOUSE_SNAPSHOT_EVERY steps, so the number
    of deltas read is bounded whatever the run's length.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT step, delta, snapshot FROM orchestrator_checkpoint
            WHERE run_id = %(run)s AND step <= %(step)s AND step >= (
                SELECT max(step) FROM orchestrator_checkpoint
                WHERE run_id = %(run)s AND step <= %(step)s AND snapshot IS NOT NULL)
            ORDER BY step
            """,
            {"run": run_id, "step": step},
        )
        rows = cursor.fetchall()
    if not rows or rows[-1][0] != step:
        raise LookupError(f"run {run_id} has no checkpoint at step {step}")
    state = state_from_rows([(s, loads(d), loads(snap)) for s, d, snap in rows])
    return hydrate_state(state) if hydrate else state


def state_from_rows(rows: list[tuple[int, Any, Any]]) -> dict[str, Any]:
    """Fold (step, delta, snapshot) rows, decoded and in step order, the first a snapshot."""
    state: dict[str, Any] = dict(rows[0][2])
    for _step, delta, _snapshot in rows[1:]:
        apply_delta(state, delta)
    return state


def last_checkpoint_meta(run_id: int) -> tuple[str, str, dict[str, Any]] | None:
    """(source, node, meta) of the newest checkpoint."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT source, node, meta FROM orchestrator_checkpoint WHERE run_id = %s ORDER BY step DESC LIMIT 1",
            [run_id],
        )
        row = cursor.fetchone()
    return (row[0], row[1], loads(row[2])) if row else None


def approved_node_of(source: str, node: str, meta: dict[str, Any]) -> str | None:
    """The node a checkpoint lets run without asking its gate again, if any.

    A person's decision at node X means "X was approved", except a loop guard's: that item only
    lets the run go on counting steps, and is decided by the guard's group (engineers), not by X's
    reviewers, so X's own gate must still ask, unless the guard fired between X's approval and its
    run, when the guard's decision passes that approval on. A fork's first checkpoint carries what
    its parent's decision approved (orchestrator.forks)."""
    if source == "decision":
        if meta.get("item_kind") == "loop_guard":
            return meta.get("approved_node")  # an approval the guard stopped in front of, if any
        # An interrupt_after gate's approval lets the run move on from X; it does not approve X's
        # next run (a loop back through X with interrupt_before asks again).
        return None if meta.get("gate_after") else node
    if source == "fork":
        return meta.get("approved_node")
    return None


def node_steps_since(run_id: int, since_step: int) -> list[tuple[str, str, str]]:
    """(node, next node, state hash) of every node step after `since_step`: visit counts, and the
    positions reached (a repeated one means a loop)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT node, next_node, state_hash FROM orchestrator_checkpoint"
            " WHERE run_id = %s AND step > %s AND source = 'node'",
            [run_id, since_step],
        )
        return [tuple(row) for row in cursor.fetchall()]
