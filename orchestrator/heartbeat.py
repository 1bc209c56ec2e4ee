"""Lease heartbeats: one background thread per process extends the leases of the runs it advances.

A run's lease is extended every lease/3 seconds while its worker advances it, so a live worker
with a long node is not mistaken for a dead one. One shared thread (rather than a thread per run)
makes taking and dropping a lease a dictionary operation: starting a thread per run cost more
than a step commit. The thread is (re)started lazily in each process, so a forked RQ work horse
gets its own.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

from django.db import connection

log = logging.getLogger("gatehouse.executor")

_EXTEND = (
    "UPDATE orchestrator_run SET lease_expires_at = statement_timestamp() + %s * interval '1 second'"
    " WHERE id = %s AND lease_token = %s AND status = 'running'"
)


@dataclass
class _Lease:
    token: int
    seconds: int
    due: float


class _Heartbeats:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._leases: dict[int, _Lease] = {}
        self._pid: int | None = None

    @contextmanager
    def hold(self, run_id: int, token: int, lease_seconds: int) -> Iterator[None]:
        with self._cond:
            if self._pid != os.getpid():
                self._pid = os.getpid()
                threading.Thread(target=self._loop, daemon=True, name="gatehouse-lease-heartbeat").start()
            self._leases[run_id] = _Lease(token, lease_seconds, time.monotonic() + lease_seconds / 3)
            self._cond.notify()
        try:
            yield
        finally:
            with self._cond:
                lease = self._leases.get(run_id)
                if lease is not None and lease.token == token:
                    del self._leases[run_id]

    def _loop(self) -> None:
        while True:
            with self._cond:
                now = time.monotonic()
                due = [(run_id, lease) for run_id, lease in self._leases.items() if lease.due <= now]
                if not due:
                    soonest = min((lease.due for lease in self._leases.values()), default=None)
                    self._cond.wait(None if soonest is None else soonest - now)
                    continue
                for _run_id, lease in due:
                    lease.due = now + lease.seconds / 3
            for run_id, lease in due:
                if not self._extend(run_id, lease):
                    with self._cond:  # fenced off or finished: stop beating for it
                        if self._leases.get(run_id) is lease:
                            del self._leases[run_id]

    @staticmethod
    def _extend(run_id: int, lease: _Lease) -> bool:
        try:
            with connection.cursor() as cursor:
                cursor.execute(_EXTEND, [lease.seconds, run_id, lease.token])
                return cursor.rowcount == 1
        except Exception:  # a heartbeat must never kill the worker; the lease will just lapse
            log.exception("lease heartbeat failed for run %s", run_id)
            return True
        finally:
            connection.close()


_heartbeats = _Heartbeats()


def lease_heartbeat(run_id: int, token: int, lease_seconds: int) -> AbstractContextManager[None]:
    """`with lease_heartbeat(...):` keeps the run's lease alive until the block ends."""
    return _heartbeats.hold(run_id, token, lease_seconds)
