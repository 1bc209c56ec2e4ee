"""What the page benchmarks share: a scratch database, a user of a role, whole requests timed through
Django's test client, and runs bulk-inserted by SQL (a million through the ORM would take an hour)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.executor_vs_langgraph import _setup_django

# Every NOT NULL column of orchestrator_run, as an SQL expression of the series number `g`: Django's
# defaults are not database defaults, so a bulk INSERT spells each one out. A bench overrides some.
RUN_COLUMNS = {
    "thread_id": "{prefix} || g",
    "workflow": "'workflow_' || lpad((g %% {workflows})::text, 2, '0')",
    "graph_version": "'bench'",
    "status": "'completed'",
    "suspended_reason": "''",
    "labels": "'{{}}'",
    "step": "10",
    "next_node": "''",
    "visit_step": "0",
    "guard_base_step": "0",
    "attempts": "0",
    "lease_token": "0",
    "lease_owner": "''",
    "input_tokens": "0",
    "output_tokens": "0",
    "cached_tokens": "0",
    "cost": "0",
    "llm_calls": "0",
    "ledger_head": "repeat('0', 64)",
    "ledger_len": "0",
    "ledger_salt": "md5(g::text)",
    "replay_mode": "''",
    "allow_effects": "true",
    "overrides": "'{{}}'",
    "created_at": "now()",
    "updated_at": "now()",
}


def setup_database(name: str) -> None:
    """Point Django at the scratch database `name` (created and migrated if needed) for the test client."""
    from django.conf import settings

    _setup_django(name)
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]


def insert_runs(cursor: Any, *, prefix: str, count: int, workflows: int, **columns: str) -> None:
    """INSERT `count` runs named `prefix`1..count, each column the default expression above or the
    one given (SQL over `g`, the run's number; `%%` for a literal %)."""
    exprs = {**RUN_COLUMNS, **columns}
    select = ", ".join(exprs[name].format(prefix=f"'{prefix}'", workflows=workflows) for name in exprs)
    cursor.execute(f"INSERT INTO orchestrator_run ({', '.join(exprs)}) SELECT {select} "
                   "FROM generate_series(1, %(count)s) AS g", {"count": count})


def user_in_group(username: str, group: str) -> Any:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user, _ = get_user_model().objects.get_or_create(username=username)
    user.groups.set([Group.objects.get_or_create(name=group)[0]])
    return user


def time_get(client: Any, url: str, repeat: int, headers: dict | None = None, *,
             warm: int = 1) -> tuple[float, float, Any]:
    """(median ms, worst ms, the last response) of `repeat` GETs after `warm` unmeasured ones."""
    for _ in range(warm):  # caches, the connection, prepared plans
        client.get(url, headers=headers or {})
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url, headers=headers or {})
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times), max(times), response


def time_pages(client: Any, cases: list[tuple[str, str, dict | None]], *, repeat: int, target_ms: float,
               row_marker: str) -> list[str]:
    """Time each (label, url, headers) and print a line each with how many rows (`row_marker`) the
    page listed; the labels of the pages at or over `target_ms` (median)."""
    print(f"\nServer time per request (median of {repeat}, Django test client, whole view + template):")
    over = []
    for label, url, headers in cases:
        median, worst, response = time_get(client, url, repeat, headers)
        listed = response.content.decode().count(row_marker)
        if median >= target_ms:
            over.append(label)
        verdict = "OK" if median < target_ms else "OVER"
        print(f"  {label:<34} median {median:8.1f} ms  max {worst:8.1f} ms  listed {listed:>3}  {verdict}")
    return over


def alternated(ours: Callable[[], Any], reference: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """(median ms of ours, of the reference), called in turn `repeat` times, so both see the same
    spells of a busy machine."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for fn, into in ((ours, times[0]), (reference, times[1])):
            started = time.perf_counter()
            fn()
            into.append((time.perf_counter() - started) * 1000)
    return statistics.median(times[0]), statistics.median(times[1])
