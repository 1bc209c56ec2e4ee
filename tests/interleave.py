"""Forcing one interleaving of two database writers, without sleeping and hoping.

    with held_open(lambda: item_escalate(item=item, group="admin")):   # committed when the block ends
        other = in_a_thread(lambda: review_decide(...))                   # its own connection
        wait_for(lambda: sessions_waiting_on_a_lock() > 0, what="the decision to wait for the escalation")
    outcome = other.result()

`held_open` runs a function in a transaction of its own (another thread, so another connection) and
keeps that transaction open, its row locks held, until the with block ends: whatever the block
starts meanwhile sees the database as it was before, or waits for those locks, as a second web or
worker process would. Needs `transactional_db` (a `db` test's rows are invisible to other connections).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from django.db import connection, transaction

TIMEOUT = 30  # seconds any one side may take before the test fails naming it (never reached when it works)


def _own_connection(fn: Callable[[], Any]) -> Callable[[], Any]:
    def call() -> Any:
        try:
            return fn()
        finally:
            connection.close()  # the thread's own connection: left open, the test database cannot be dropped

    return call


def in_a_thread(fn: Callable[[], Any]) -> Future:
    """Start fn() in a thread of its own (with its own database connection); .result() is its outcome."""
    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(_own_connection(fn))
    pool.shutdown(wait=False)
    return future


def at_once(fn: Callable[[], Any], times: int = 2) -> list[Any]:
    """fn() called `times` times at the same moment, each in a thread with its own connection (they
    wait at a barrier, so none is finished before the others start); their results, in no order.
    An exception in any of them is raised here, naming it, rather than lost with its thread."""
    barrier = threading.Barrier(times)

    def together() -> Any:
        barrier.wait(TIMEOUT)
        return fn()

    futures = [in_a_thread(together) for _ in range(times)]
    return [future.result(TIMEOUT) for future in futures]


@contextmanager
def held_open(fn: Callable[[], Any]) -> Iterator[Future]:
    """Run fn() in a transaction in another thread and keep it open until the block ends; then it commits
    (or rolls back, if fn raised) and the block's exit waits for that. Yields the future of fn's result."""
    done, release = threading.Event(), threading.Event()

    def hold() -> Any:
        try:
            with transaction.atomic():
                result = fn()
                done.set()
                if not release.wait(TIMEOUT):
                    raise TimeoutError("the held transaction was never released")
                return result
        finally:
            done.set()

    future = in_a_thread(hold)
    if not done.wait(TIMEOUT):
        raise AssertionError("the held transaction did not get to its end in time")
    if future.done():
        future.result()  # fn raised: say so here, not as a mysterious missing lock
    try:
        yield future
    finally:
        release.set()
        future.result(timeout=TIMEOUT)


def sessions_waiting_on_a_lock() -> int:
    """How many sessions of this test database wait for a lock another holds (the other xdist worker's
    sessions, on another database of the same server, are not counted)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                       " WHERE NOT l.granted AND a.datname = current_database()")
        return cursor.fetchone()[0]


def started_while_held(hold: Callable[[], Any], start: Callable[[], Any], wait_for: Callable[..., Any],
                       what: str) -> Any:
    """start() run while hold()'s transaction is open, once it waits for hold's locks; start's outcome
    (raised here if it raised), after hold committed."""
    with held_open(hold):
        started = in_a_thread(start)
        wait_for(lambda: sessions_waiting_on_a_lock() > 0, what=f"{what} (else the race is not exercised)")
    return started.result(timeout=TIMEOUT)
