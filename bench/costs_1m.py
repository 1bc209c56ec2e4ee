"""Costs dashboard server time over 1,000,000 billed calls (90 days, 20 workflows, 200 customers).

    .venv/bin/python bench/costs_1m.py [--calls 1000000] [--repeat 7]

Bulk-inserts the spend rows directly (one per billed call, as `budget_settle` writes them, each
with a department and a customer label), rolls up the complete days (every one but today, as the
reconciler's pass would: orchestrator.spend_rollup), ANALYZEs, then times whole requests through
Django's test client as a logged-in engineer: the default dashboard (last 30 days by workflow),
grouped by model, node and customer label, a 90-day range, the htmx refresh, and the monthly
chargeback CSV. Then the reads alone against the named reference, one pass over the range's spend
rows (what the pages read before the roll-up), alternated in one process.
Target: the default dashboard under 500 ms of server time (median).

Runs against a scratch database `gatehouse_bench_costs` on the embedded (or configured) Postgres.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from bench.pages import alternated, insert_runs, setup_database, time_get, user_in_group  # noqa: E402

TARGET_MS = 500.0
WORKFLOWS = 20
CUSTOMERS = 200
CALLS_PER_RUN = 20
DAYS = 90


def _seed(calls: int) -> None:
    from django.db import connection

    runs = max(1, calls // CALLS_PER_RUN)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE orchestrator_spendevent, orchestrator_spenddaily, orchestrator_spendrundaily "
                       "RESTART IDENTITY CASCADE")
        cursor.execute("UPDATE orchestrator_spendrollup SET next_day = NULL")
        cursor.execute("DELETE FROM orchestrator_run WHERE thread_id LIKE 'bench-costs-%%'")
        insert_runs(cursor, prefix="bench-costs-", count=runs, workflows=WORKFLOWS, step=str(CALLS_PER_RUN),
                    labels="json_build_object('department', 'dept_' || (g %% 7), "
                           f"'customer', 'cust_' || (g %% {CUSTOMERS}))",
                    created_at=f"now() - ((g %% {DAYS}) || ' days')::interval")
        cursor.execute(
            """
            INSERT INTO orchestrator_spendevent
              (run_id, workflow, node, visit, call_index, attempt, labels, provider, model, input_tokens,
               output_tokens, cached_tokens, cost, reserved, latency_ms, partial, unpriced, created_at)
            SELECT r.id, r.workflow, 'node_' || (c %% 6), c, 0, 1, r.labels::jsonb, 'openai',
                   (ARRAY['gpt-4o-mini', 'gpt-4o', 'claude-3-5-haiku', 'claude-sonnet-4', 'o3-mini'])[1 + c %% 5],
                   800 + (r.id * 7 + c * 13) %% 1500, 120 + (r.id + c) %% 400, (c %% 3) * 200,
                   ((800 + (r.id * 7 + c * 13) %% 1500) * 0.00000015 + (120 + (r.id + c) %% 400) * 0.0000006)::numeric(12, 6),
                   0.01, 400 + c * 10, c = 19 AND r.id %% 97 = 0, r.id %% 251 = 0,
                   r.created_at + (c || ' seconds')::interval
            FROM orchestrator_run r, generate_series(0, %(per_run)s - 1) AS c
            WHERE r.thread_id LIKE 'bench-costs-%%'
            """,
            {"per_run": CALLS_PER_RUN},
        )
        cursor.execute("ANALYZE orchestrator_run")
        cursor.execute("ANALYZE orchestrator_spendevent")
        cursor.execute("SELECT count(*) FROM orchestrator_spendevent")
        (count,) = cursor.fetchone()
    print(f"seeded {count:,} spend rows in {runs:,} runs over {DAYS} days in {time.perf_counter() - started:.1f} s")


def _roll_up() -> None:
    from django.db import connection

    from orchestrator.spend_rollup import spend_rollup, spend_rollup_mark

    started = time.perf_counter()
    rolled = spend_rollup(days=DAYS + 2)  # the days before today: today is not complete
    with connection.cursor() as cursor:
        for table in ("orchestrator_spenddaily", "orchestrator_spendrundaily"):
            cursor.execute(f"ANALYZE {table}")
        cursor.execute("SELECT (SELECT count(*) FROM orchestrator_spenddaily), "
                       "(SELECT count(*) FROM orchestrator_spendrundaily)")
        daily, by_run = cursor.fetchone()
    print(f"rolled up {rolled} days ({daily:,} sums by workflow, node and model; {by_run:,} by run) in "
          f"{time.perf_counter() - started:.1f} s; the mark: {spend_rollup_mark()}")


# The named reference: the dashboard's one pass over the range's spend rows (session 19's spend_summary,
# before the daily roll-up), and the chargeback's.
_ONE_PASS_SQL = """
WITH g AS MATERIALIZED (
  SELECT GROUPING(run_id) AS no_run, GROUPING((created_at AT TIME ZONE 'UTC')::date) AS no_day,
         (created_at AT TIME ZONE 'UTC')::date AS day, {key} AS key, run_id, sum(cost) AS cost, count(*) AS calls,
         sum(input_tokens) AS input, sum(output_tokens) AS output, sum(cached_tokens) AS cached,
         count(*) FILTER (WHERE unpriced) AS unpriced, count(*) FILTER (WHERE partial) AS partial
  FROM orchestrator_spendevent WHERE created_at >= %(start)s AND created_at < %(end)s
  GROUP BY GROUPING SETS (((created_at AT TIME ZONE 'UTC')::date, {key}), (run_id), ())
)
SELECT 'total', NULL::date, NULL, NULL::bigint, cost, calls, input, output, cached, unpriced, partial,
       (SELECT count(*) FROM g WHERE no_run = 0), NULL, NULL
  FROM g WHERE no_run = 1 AND no_day = 1
UNION ALL
SELECT 'day', day, key, NULL, cost, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
  FROM g WHERE no_day = 0
UNION ALL
(SELECT 'run', NULL, r.workflow, g.run_id, g.cost, g.calls, g.input, g.output, NULL, NULL, NULL, NULL, r.thread_id,
        r.status
   FROM g LEFT JOIN orchestrator_run r ON r.id = g.run_id
  WHERE g.no_run = 0 ORDER BY g.cost DESC, g.run_id LIMIT 10)
"""
_ONE_PASS_CHARGEBACK_SQL = (
    "SELECT coalesce(labels ->> %s, '(unlabelled)') AS value, count(DISTINCT run_id), count(*),"
    " sum(input_tokens), sum(cached_tokens), sum(output_tokens), sum(cost)"
    " FROM orchestrator_spendevent WHERE created_at >= %s AND created_at < %s GROUP BY 1 ORDER BY 7 DESC, 1")


def _one_pass(f) -> list:
    from django.db import connection, transaction

    from audit import selectors_costs

    key = ("coalesce(labels ->> %(label_key)s, '(none)')" if f.by == "label" else
           {"workflow": "workflow", "model": "model", "node": "workflow || ' · ' || node"}[f.by])
    selectors_costs.label_keys()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(_ONE_PASS_SQL.format(key=key), {"start": f.start, "end": f.end, "label_key": f.label_key})
        return cursor.fetchall()


def _one_pass_chargeback(month: str, label_key: str) -> list:
    from django.db import connection

    from audit.selectors_costs import month_bounds

    start, end = month_bounds(month)
    with connection.cursor() as cursor:
        cursor.execute(_ONE_PASS_CHARGEBACK_SQL, [label_key, start, end])
        return cursor.fetchall()


def _figures(summary) -> tuple:
    t = summary.totals
    return ((t["cost"], t["calls"], t["runs"], t["input"], t["output"], t["cached"], t["unpriced"], t["partial"]),
            [(r["day"], r["key"], r["cost"]) for r in summary.by_day],
            [(r["run_id"], r["cost"], r["calls"]) for r in summary.top_runs])


def _figures_of_rows(rows: list) -> tuple:
    total = next(r for r in rows if r[0] == "total")
    return ((total[4], total[5], total[11], total[6], total[7], total[8], total[9], total[10]),
            sorted((r[1], r[2], r[4]) for r in rows if r[0] == "day"),
            [(r[3], r[4], r[5]) for r in rows if r[0] == "run"])


def _compare_with_reference(repeat: int, month: str) -> None:
    from django.http import QueryDict

    from audit import selectors_costs

    def summary(query: str):
        f = selectors_costs.parse_filters(QueryDict(query))
        return (lambda: (selectors_costs.label_keys(), selectors_costs.spend_summary(f))), (lambda: _one_pass(f))

    cases = [
        ("last 30 days by workflow", *summary("")),
        ("by the customer label", *summary("by=label&label_key=customer")),
        ("last 90 days", *summary("since=" + _days_ago(89))),
        (f"chargeback {month} by customer", lambda: selectors_costs.chargeback_rows(month=month, label_key="customer"),
         lambda: _one_pass_chargeback(month, "customer")),
    ]
    for label, ours, reference in cases[:3]:
        _, summary_now = ours()
        assert _figures(summary_now) == _figures_of_rows(reference()), f"{label}: the figures differ from one pass"
    assert [tuple(row.values()) for row in cases[3][1]()] == [tuple(row) for row in cases[3][2]()], \
        "the chargeback differs from one pass"
    print(f"\nThe reads alone, with the roll-up against one pass over the spend rows (median of {repeat}, "
          "alternated):")
    for label, ours, reference in cases:
        a, b = alternated(ours, reference, repeat)
        print(f"  {label:<34} {a:8.1f} ms   one pass {b:8.1f} ms   x{b / a:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--no-seed", action="store_true", help="reuse the rows of the previous run")
    args = parser.parse_args()
    setup_database("gatehouse_bench_costs")
    if not args.no_seed:
        _seed(args.calls)
        _roll_up()

    from django.test import Client

    client = Client()
    client.force_login(user_in_group("bench-engineer", "engineer"))
    month = datetime.now(UTC).strftime("%Y-%m")
    cases = [
        ("dashboard: last 30 days by workflow", "/costs/", None, True),
        ("by model", "/costs/?by=model", None, False),
        ("by node", "/costs/?by=node", None, False),
        ("by label customer", "/costs/?by=label&label_key=customer", None, False),
        ("last 90 days", "/costs/?since=" + _days_ago(89), None, False),
        ("htmx refresh (body fragment)", "/costs/", {"HX-Request": "true", "HX-Target": "costs-body"}, False),
        ("chargeback CSV by customer", f"/costs/chargeback.csv?label_key=customer&month={month}", None, False),
    ]
    print(f"\nServer time per request (median of {args.repeat}, Django test client, whole view + template):")
    verdicts = []
    for label, url, headers, targeted in cases:
        median, worst, _ = time_get(client, url, args.repeat, headers)
        verdict = ""
        if targeted:
            ok = median < TARGET_MS
            verdicts.append(ok)
            verdict = f"  {'OK' if ok else 'OVER'} (target < {TARGET_MS:.0f} ms)"
        print(f"  {label:<38} median {median:8.1f} ms  max {worst:8.1f} ms{verdict}")
    _compare_with_reference(args.repeat, month)
    print("\nresult:", "the dashboard is under target" if all(verdicts) else "OVER TARGET")


def _days_ago(days: int) -> str:
    from datetime import timedelta

    return (datetime.now(UTC).date() - timedelta(days=days)).isoformat()


if __name__ == "__main__":
    main()
