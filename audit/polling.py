"""How often a page showing runs refreshes them: the runs list, a run's header, a comparison and a
regression batch all follow their runs the same way."""

from __future__ import annotations

from collections.abc import Iterable

from orchestrator.models import RunStatus

MOVING = frozenset({RunStatus.QUEUED, RunStatus.RUNNING})


def poll_seconds(statuses: Iterable[str]) -> int:
    """How often a page showing runs in these statuses refreshes them (0: never). Moving runs every
    2 s; suspended runs every 5 s, because someone else's decision (in the inbox, on a budget stop)
    moves them; once every run has ended nothing changes any more."""
    statuses = set(statuses)
    if statuses & MOVING:
        return 2
    return 5 if RunStatus.SUSPENDED in statuses else 0
