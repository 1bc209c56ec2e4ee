"""Hot-path statements: server-side prepared, through one reused cursor per database connection.

Kept free of other orchestrator imports: the step commit, the claim, the journal, budget holds and
the blob store all use it.
"""

from __future__ import annotations

from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, connection, connections
from psycopg import pq
from psycopg.types.string import StrDumper

_ROWS = pq.ExecStatus.TUPLES_OK


def _hot_cursor() -> psycopg.Cursor:
    """One server-binding cursor per database connection, reused by every hot-path statement."""
    # The thread's connection wrapper, read through the proxy once (each attribute read through
    # django.db.connection costs a thread-local lookup, and this runs for every step and call).
    wrapper = connections[DEFAULT_DB_ALIAS]
    raw = wrapper.connection
    if raw is None:
        wrapper.ensure_connection()
        raw = wrapper.connection
    cached = wrapper.__dict__.get("_gatehouse_hot_cursor")
    if cached is not None and cached[0] is raw and not cached[1].closed:
        return cached[1]
    cursor = psycopg.Cursor(raw)
    # Send str as text (not "unknown"), so a parameter used in two places has one type.
    cursor.adapters.register_dumper(str, StrDumper)
    wrapper._gatehouse_hot_cursor = (raw, cursor)
    return cursor


def execute_prepared(sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
    """Run one hot-path statement as a server-side prepared statement and return its first row.

    Django's psycopg backend binds parameters on the client, so Postgres would parse and plan the
    four-CTE statement on every step; a server-binding cursor with prepare=True plans it once per
    connection (config/settings.py re-enables psycopg's prepared statements, which Django turns
    off). Autocommit: the statement is its own transaction.
    """
    cursor = _hot_cursor()
    cursor.execute(sql, params, prepare=True)
    # The result's status, not cursor.description (which builds a Column object per column).
    return cursor.fetchone() if cursor.pgresult.status == _ROWS else None


# For a statement whose own commit need not be durable (a claim, a budget hold): put it in a WHERE
# clause and pass `async_commit_param()`. It turns the WAL flush off for the statement's own
# transaction only — and changes nothing when the caller is inside a larger transaction
# (transaction.atomic), whose durability is not this statement's to weaken.
ASYNC_COMMIT = (
    "set_config('synchronous_commit', coalesce(%(async_commit)s, current_setting('synchronous_commit')), true)"
    " IS NOT NULL"
)


_NAMES: dict[str, dict[str, str]] = {}


def prefixed(prefix: str, values: dict[str, Any], into: dict[str, Any]) -> None:
    """Copy `values` into `into` as `prefix + key` (a statement's parameters for one of its parts),
    each name built once per process rather than formatted on every step or call."""
    names = _NAMES.setdefault(prefix, {})
    for key, value in values.items():
        name = names.get(key)
        if name is None:
            name = names[key] = prefix + key
        into[name] = value


def async_commit_param() -> str | None:
    return None if connection.in_atomic_block else "off"
