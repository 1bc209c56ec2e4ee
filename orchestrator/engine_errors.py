"""Failures of the engine's own records while a node runs: not the node's fault.

A node's code raises, and its retry policy decides: try again, or fail the run. But the engine
itself reads and writes Postgres (and the blob store) from inside the node, through `ctx`: the
journal, budget holds and settlements, blobs. If one of those statements is cancelled, times out,
loses a deadlock or its connection, the node did nothing wrong, and failing the run for it (or
spending one of its retries) would make an engineer retry by hand what the engine can resume by
itself. `ctx` raises EngineUnavailable for such errors; the executor lets it through like a lost
lease, the job ends, and the run is taken up again from Postgres when its lease lapses: what the
node had journaled is reused, not paid for again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import django.db
import psycopg

# Operational: the server or the connection (cancelled, timed out, deadlock victim, gone). Also
# what a step commit between nodes may meet: the job then ends with one log line, not a traceback.
TRANSIENT_DATABASE_ERRORS: tuple[type[BaseException], ...] = (
    django.db.OperationalError, django.db.InterfaceError, psycopg.OperationalError, psycopg.InterfaceError,
)
# Integrity: on the engine's own journal rows, another writer recorded the same call first (a
# worker fenced off a moment too late); the next claim reads its row back instead.
_ENGINE_STORAGE_ERRORS: tuple[type[BaseException], ...] = (
    *TRANSIENT_DATABASE_ERRORS, django.db.IntegrityError, psycopg.IntegrityError,
)


class EngineUnavailable(RuntimeError):
    """The engine could not read or write its own records while a node ran (see the module)."""

    node: str | None = None  # set by the executor: the node that was running


@contextmanager
def engine_storage(what: str, *, also: tuple[type[BaseException], ...] = ()) -> Iterator[None]:
    """`with engine_storage("the journal"):` around the engine's own I/O inside a node."""
    try:
        yield
    except (*_ENGINE_STORAGE_ERRORS, *also) as exc:
        raise EngineUnavailable(f"{what} failed ({type(exc).__name__}: {str(exc).strip()})") from exc
