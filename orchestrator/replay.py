"""Recorded replay for forks: reuse the parent's LLM results until the fork's requests diverge.

A fork in "recorded" mode answers each LLM call from the parent run's journal (after the fork
point) when the same node makes the same request; the first request that has no match marks the
fork as diverged, and from then on every call goes live.
"""

from __future__ import annotations

from collections import defaultdict, deque
from typing import Any

from django.db import connection

from orchestrator.state import loads


class ReplaySource:
    def __init__(self, recorded: dict[tuple[str, str], deque[Any]], diverged: bool) -> None:
        self._recorded = recorded
        self.diverged = diverged

    def lookup(self, node: str, request_hash: str) -> Any | None:
        if self.diverged:
            return None
        queue = self._recorded.get((node, request_hash))
        if not queue:
            self.diverged = True
            return None
        return queue.popleft()


def replay_source(run_id: int) -> ReplaySource | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT parent_id, forked_from_step, replay_mode, diverged_at_step FROM orchestrator_run WHERE id = %s",
            [run_id],
        )
        parent_id, fork_step, mode, diverged_at = cursor.fetchone()
        if parent_id is None or mode != "recorded":
            return None
        # From the visit in progress at the fork point, not from the fork point itself: a visit is
        # numbered by the step it started from, and one that a gate, a decision or a budget stop
        # interrupted (checkpoints "gate"/"decision") began before them. The fork runs that node
        # again from its start, so the calls it made before the gate are replayed too; `visit >=
        # fork_step` left them out, and a fork taken at a gate paid for them live and was marked
        # diverged from its first call. The newest node/input/fork checkpoint at or before the
        # fork point is where that visit (and every later one) began.
        cursor.execute(
            "SELECT node, request_hash, result FROM orchestrator_journalentry"
            " WHERE run_id = %(parent)s AND kind = 'llm' AND visit >= COALESCE("
            "   (SELECT max(step) FROM orchestrator_checkpoint WHERE run_id = %(parent)s AND step <= %(step)s"
            "       AND source IN ('input', 'node', 'fork')), %(step)s)"
            " ORDER BY visit, call_index",
            {"parent": parent_id, "step": fork_step},
        )
        recorded: dict[tuple[str, str], deque[Any]] = defaultdict(deque)
        for node, digest, result in cursor.fetchall():
            recorded[(node, digest)].append(loads(result))
        # Calls this fork already answered from the record (before a crash or a gate) are used up.
        cursor.execute(
            "SELECT node, request_hash, replayed FROM orchestrator_journalentry"
            " WHERE run_id = %s AND kind = 'llm' ORDER BY visit, call_index",
            [run_id],
        )
        # A live call already journaled means the fork diverged, though diverged_at_step is written
        # only by a node's step commit: a node that called live and then stopped at its gate (or
        # whose worker died) gets that call back from the journal when it runs again, with no lookup
        # here to say so, and the fork would forget its divergence (and answer later calls from the
        # record).
        live = False
        for node, digest, replayed in cursor.fetchall():
            if not replayed:
                live = True
            elif recorded.get((node, digest)):
                recorded[(node, digest)].popleft()
    return ReplaySource(recorded, diverged=diverged_at is not None or live)
