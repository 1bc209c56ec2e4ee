"""Lease heartbeats: one background thread per process extends the leases of the runs it advances.

A run's lease is extended every lease/3 seconds while its worker advances it, so a live worker
with a long node is not mistaken for a dead one. One shared thread (rather than a thread per run)
makes taking and dropping a lease a dictionary operation: starting a thread per run cost more
than a step commit. The thread is started lazily (and again if it ever died); a forked process
(an RQ work horse) starts with no leases and its own thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

from django.db import connection

from orchestrator.budgets import hold_ttl_seconds

log = logging.getLogger("gatehouse.executor")

# The owner is checked as well as the token: should a claim be lost in a database crash (claims
# commit asynchronously), the next claim reissues the same token, and this worker must not keep
# the new owner's lease alive. The run's budget holds (orchestrator.budgets) are kept alive with
# it, in token order as every hold writer locks them: a call of a live job may stream for longer
# than any fixed expiry.
_EXTEND = """
WITH r AS (
  UPDATE orchestrator_run SET lease_expires_at = statement_timestamp() + %(lease)s * interval '1 second'
  WHERE id = %(run)s AND lease_token = %(token)s AND lease_owner = %(owner)s AND status = 'running'
  RETURNING id
), h AS (
  UPDATE orchestrator_budgetreservation
     SET expires_at = greatest(expires_at, statement_timestamp() + %(hold_ttl)s * interval '1 second')
  WHERE token IN (SELECT token FROM orchestrator_budgetreservation
                  WHERE run_id = (SELECT id FROM r) AND lease_token = %(token)s ORDER BY token FOR UPDATE)
)
SELECT count(*) FROM r
"""


@dataclass
class _Lease:
    token: int
    owner: str
    seconds: int
    due: float


class _Heartbeats:
    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        # Also the fork handler: a child must not inherit the parent's leases or a lock held mid-beat.
        self._cond = threading.Condition()
        self._leases: dict[int, _Lease] = {}
        self._thread: threading.Thread | None = None

    @contextmanager
    def hold(self, run_id: int, token: int, owner: str, lease_seconds: int) -> Iterator[None]:
        with self._cond:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, daemon=True, name="gatehouse-lease-heartbeat")
                self._thread.start()
            self._leases[run_id] = _Lease(token, owner, lease_seconds, time.monotonic() + lease_seconds / 3)
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
                cursor.execute(_EXTEND, {"lease": lease.seconds, "run": run_id, "token": lease.token,
                                         "owner": lease.owner, "hold_ttl": hold_ttl_seconds()})
                return cursor.fetchone()[0] == 1
        except Exception:  # a heartbeat must never kill the worker; the lease will just lapse
            log.exception("lease heartbeat failed for run %s", run_id)
            return True
        finally:
            with contextlib.suppress(Exception):  # the loop must outlive a broken connection
                connection.close()


_heartbeats = _Heartbeats()
os.register_at_fork(after_in_child=_heartbeats._reset)


def lease_heartbeat(run_id: int, token: int, owner: str, lease_seconds: int) -> AbstractContextManager[None]:
    """`with lease_heartbeat(...):` keeps the run's lease alive until the block ends."""
    return _heartbeats.hold(run_id, token, owner, lease_seconds)
