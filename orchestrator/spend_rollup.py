"""The daily roll-up of the spend rows: what the costs dashboard and the chargeback read for the days
before its mark, so that a page reads a few sums per day (and one per run and day) rather than
every call of its range.

A day is summed twice: by workflow, node and model (SpendDaily: totals, unpriced and partial counts,
spend by workflow, node or model) and by run and labels (SpendRunDaily: the number of runs, the
costliest runs, spend by label, the chargeback). The mark (SpendRollup, one row) is the first day not
rolled up: the cost pages read the days before it from the roll-up and the days from it on from the
spend rows, in one statement.

When a day may be rolled up. A spend row is written with `created_at = statement_timestamp()`
(orchestrator.budgets), which is never before the start of the transaction that writes it. So once
every transaction still open in the database started after day D ended, no row of D can still
commit: D is complete. Each pass, in one transaction:
  1. reads the mark and the start of the oldest other open transaction of this database
     (pg_stat_activity.xact_start). A session whose transaction it cannot see (another role's, without
     pg_read_all_stats; or track_activities off) or a prepared transaction (whose start is not shown)
     could be anything: then nothing is rolled up, and a warning says why;
  2. takes as its horizon the earlier of that start and now, less MARGIN, and picks the first day
     with spend rows from the mark on; a day that ends after the horizon is not rolled up;
  3. moves the mark past that day by a guarded UPDATE (`WHERE next_day = <what it read>`): of two
     passes at once the second waits for the first's row lock, then finds the mark moved and does
     nothing (its next pass starts from the new mark);
  4. inserts the day's sums, and commits them with the mark. The sums are read by a statement after
     the one that read pg_stat_activity, so under READ COMMITTED (Django's default) with a snapshot
     that sees every transaction no longer listed there.
Empty days before the horizon are stepped over in the same update. Days are never rolled up again:
nothing deletes or moves spend rows, and the one later change to them — erasure rewriting their
labels — rewrites SpendRunDaily's copy too, under the mark's row lock (audit.erasure), so a pass
rolling up concurrently either commits first (and erasure then rewrites its rows) or waits for the
erasure (and sums the rewritten rows).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, date, datetime, timedelta

from django.db import connection, transaction

from audit.date_range import day_end, day_start

log = logging.getLogger("gatehouse.spend_rollup")

# How far behind the oldest open transaction (or now) the horizon stays. A statement's timestamp is
# taken a moment before its transaction shows up in pg_stat_activity (microseconds, but nothing
# bounds them for a process the scheduler stopped), and the server clock may be stepped back: ten
# minutes' distance costs nothing (a day is rolled up at ten past midnight rather than at midnight).
MARGIN = timedelta(minutes=10)
# Days rolled up per pass at most: the first pass over a long history does not hold up the reconciler
# (whose pass this is) for long; the next passes, seconds later, catch up.
DAYS_PER_PASS = 7
_WARN_EVERY_SECONDS = 3600.0
_warned_at = -_WARN_EVERY_SECONDS

_STATE = """
SELECT (SELECT next_day FROM orchestrator_spendrollup WHERE id = 1),
       statement_timestamp(),
       (SELECT min(xact_start) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()),
       -- Not shown: another role's session (without pg_read_all_stats), or track_activities off. An
       -- idle session shows no transaction start and has none.
       (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
           AND xact_start IS NULL AND state IS DISTINCT FROM 'idle'),
       (SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database())
"""

_ROLL_UP = """
WITH daily AS (
  INSERT INTO orchestrator_spenddaily (day, workflow, node, model, cost, calls, input_tokens, output_tokens,
                                       cached_tokens, unpriced, partial)
  SELECT %(day)s, workflow, node, model, sum(cost), count(*), sum(input_tokens), sum(output_tokens),
         sum(cached_tokens), count(*) FILTER (WHERE unpriced), count(*) FILTER (WHERE partial)
  FROM orchestrator_spendevent WHERE created_at >= %(start)s AND created_at < %(end)s
  GROUP BY workflow, node, model
  RETURNING calls
), by_run AS (
  INSERT INTO orchestrator_spendrundaily (day, run_id, labels, cost, calls, input_tokens, output_tokens,
                                          cached_tokens)
  SELECT %(day)s, run_id, labels, sum(cost), count(*), sum(input_tokens), sum(output_tokens), sum(cached_tokens)
  FROM orchestrator_spendevent WHERE created_at >= %(start)s AND created_at < %(end)s
  GROUP BY run_id, labels
  RETURNING 1
)
SELECT (SELECT coalesce(sum(calls), 0) FROM daily), (SELECT count(*) FROM by_run)
"""


def spend_rollup(*, now: datetime | None = None, days: int = DAYS_PER_PASS) -> int:
    """Roll up the next complete days (at most `days`); how many it rolled up. Safe to run in several
    places at once. `now`: the time to take as now instead of the database's clock (tests stand in a
    later day with it; the open transactions are the real ones either way)."""
    _mark_ensure()
    rolled = 0
    for _ in range(days):
        outcome = _rollup_next(now)
        if outcome is None:
            break
        rolled += outcome
    return rolled


def spend_rollup_mark() -> date | None:
    """The first day not rolled up (None: none is): the cost pages read the days before it from the
    roll-up and the rest from the spend rows. Read once per page: a mark moved meanwhile only adds
    roll-up rows for days from the one read, which the page then reads from the spend rows."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT next_day FROM orchestrator_spendrollup WHERE id = 1")
        row = cursor.fetchone()
    return row[0] if row else None


def spend_rollup_lock() -> None:
    """Lock the mark's row until the transaction ends: a roll-up pass (which moves the mark before it
    sums a day) then either committed before or waits until after. audit.erasure takes it before it
    rewrites spend labels, so no pass can sum a run's rows with the labels the erasure removes."""
    _mark_ensure()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM orchestrator_spendrollup WHERE id = 1 FOR UPDATE")


def _mark_ensure() -> None:
    # Created by migration 0027; a database flushed since (the transactional tests) has no row.
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO orchestrator_spendrollup (id, next_day) SELECT 1, NULL"
                       " WHERE NOT EXISTS (SELECT FROM orchestrator_spendrollup WHERE id = 1) ON CONFLICT DO NOTHING")


def _rollup_next(now: datetime | None) -> int | None:
    """One step: 1 if a day was rolled up, 0 if the mark only moved (over empty days, or another pass
    moved it first), None if nothing is complete yet."""
    with transaction.atomic(), connection.cursor() as cursor:
        # pg_stat_activity is read once per transaction and kept: inside a caller's transaction (a
        # loop of passes) the second pass would see the sessions as the first did.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(_STATE)
        mark, db_now, oldest, unseen, prepared = cursor.fetchone()
        if unseen or prepared:
            _warn(f"{unseen} session(s) of this database whose transactions cannot be seen (grant the role "
                  "pg_read_all_stats, and keep track_activities on)" if unseen else
                  f"{prepared} prepared transaction(s), whose start is not shown")
            return None
        clock = (now or db_now) - MARGIN
        horizon = min(clock, oldest - MARGIN) if oldest is not None else clock
        open_day = horizon.astimezone(UTC).date()  # the first day not complete (UTC, as the pages count days)
        if mark is not None and mark >= open_day:
            if mark < clock.astimezone(UTC).date():
                _warn(f"a transaction open since {oldest:%Y-%m-%d %H:%M:%S} UTC (pg_stat_activity names it)")
            return None
        if mark is None:
            cursor.execute("SELECT (min(created_at) AT TIME ZONE 'UTC')::date FROM orchestrator_spendevent")
        else:
            cursor.execute("SELECT (min(created_at) AT TIME ZONE 'UTC')::date FROM orchestrator_spendevent"
                           " WHERE created_at >= %s", [day_start(mark)])
        (first,) = cursor.fetchone()
        day = first if first is not None and first < open_day else None
        moved_to = day + timedelta(days=1) if day is not None else open_day
        cursor.execute("UPDATE orchestrator_spendrollup SET next_day = %s WHERE id = 1 AND next_day IS NOT DISTINCT"
                       " FROM %s", [moved_to, mark])
        if cursor.rowcount != 1:
            return 0  # another pass moved the mark first: start again from where it is now
        if day is None:
            return 0
        cursor.execute(_ROLL_UP, {"day": day, "start": day_start(day), "end": day_end(day)})
        calls, runs = cursor.fetchone()
        log.info("spend roll-up: %s rolled up (%s calls, %s run rows)", day, calls, runs)
        return 1


def _warn(why: str) -> None:
    global _warned_at
    if time.monotonic() - _warned_at >= _WARN_EVERY_SECONDS:
        _warned_at = time.monotonic()
        log.warning("spend roll-up: no day rolled up while there are %s; the cost pages read every spend row of "
                    "the days since", why)
