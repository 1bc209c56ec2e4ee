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
        cursor.execute(
            "SELECT node, request_hash, result FROM orchestrator_journalentry"
            " WHERE run_id = %s AND kind = 'llm' AND visit >= %s ORDER BY visit, call_index",
            [parent_id, fork_step],
        )
        recorded: dict[tuple[str, str], deque[Any]] = defaultdict(deque)
        for node, digest, result in cursor.fetchall():
            recorded[(node, digest)].append(loads(result))
        # Calls this fork already answered from the record (before a crash or a gate) are used up.
        cursor.execute(
            "SELECT node, request_hash FROM orchestrator_journalentry"
            " WHERE run_id = %s AND kind = 'llm' AND replayed ORDER BY visit, call_index",
            [run_id],
        )
        for node, digest in cursor.fetchall():
            if recorded.get((node, digest)):
                recorded[(node, digest)].popleft()
    return ReplaySource(recorded, diverged=diverged_at is not None)
