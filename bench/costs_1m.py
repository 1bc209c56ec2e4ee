"""Costs dashboard server time over 1,000,000 billed calls (90 days, 20 workflows, 200 customers).

    .venv/bin/python bench/costs_1m.py [--calls 1000000] [--repeat 7]

Bulk-inserts the spend rows directly (one per billed call, as `budget_settle` writes them, each
with a department and a customer label), ANALYZEs, then times whole requests through Django's test
client as a logged-in engineer: the default dashboard (last 30 days by workflow), grouped by model,
node and customer label, a 90-day range, the htmx refresh, and the monthly chargeback CSV.
Target: the default dashboard under 500 ms of server time (median).

Runs against a scratch database `gatehouse_bench_costs` on the embedded (or configured) Postgres.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from bench.pages import insert_runs, setup_database, time_get, user_in_group  # noqa: E402

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
        cursor.execute("TRUNCATE orchestrator_spendevent RESTART IDENTITY CASCADE")
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


def _reference_queries(start, end) -> None:
    """The dashboard's reads before session 19, the named reference: the label keys from every spend
    row ever written, then the totals (with their unpriced and partial counts) twice, spend by day,
    and the top runs, each a pass over the range of its own."""
    from django.db import connection

    where = "FROM orchestrator_spendevent WHERE created_at >= %(start)s AND created_at < %(end)s"
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT k FROM orchestrator_spendevent, jsonb_object_keys(labels) AS k ORDER BY k "
                       "LIMIT 50")
        for _ in range(2):  # spend_totals, then tokens_by_type called it again
            cursor.execute("SELECT sum(cost), count(id), count(DISTINCT run_id), sum(input_tokens), "
                           f"sum(output_tokens), sum(cached_tokens) {where}", {"start": start, "end": end})
            cursor.execute(f"SELECT count(*) {where} AND unpriced", {"start": start, "end": end})
            cursor.execute(f"SELECT count(*) {where} AND partial", {"start": start, "end": end})
        cursor.execute(f"SELECT (created_at AT TIME ZONE 'UTC')::date, workflow, sum(cost) {where} GROUP BY 1, 2 "
                       "ORDER BY 1, 2", {"start": start, "end": end})
        cursor.execute("SELECT s.run_id, r.thread_id, r.status, s.workflow, sum(s.cost) AS c, count(s.id), "
                       "sum(s.output_tokens) + sum(s.input_tokens) FROM orchestrator_spendevent s "
                       "JOIN orchestrator_run r ON r.id = s.run_id WHERE s.created_at >= %(start)s "
                       "AND s.created_at < %(end)s GROUP BY 1, 2, 3, 4 ORDER BY c DESC LIMIT 10",
                       {"start": start, "end": end})
        cursor.fetchall()


def _compare_with_reference(repeat: int) -> None:
    from django.http import QueryDict

    from audit import selectors_costs

    f = selectors_costs.parse_filters(QueryDict(""))
    ours, reference = [], []
    for _ in range(repeat):  # alternated, so both see the same spells of a busy machine
        started = time.perf_counter()
        selectors_costs.label_keys()
        selectors_costs.spend_summary(f)
        ours.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        _reference_queries(f.start, f.end)
        reference.append((time.perf_counter() - started) * 1000)
    a, b = statistics.median(ours), statistics.median(reference)
    print(f"\nThe dashboard's reads, last 30 days by workflow (median of {repeat}, alternated):")
    print(f"  one pass (spend_summary) + label-key table   {a:8.1f} ms")
    print(f"  reference: six passes + keys from every call {b:8.1f} ms   x{b / a:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--no-seed", action="store_true", help="reuse the rows of the previous run")
    args = parser.parse_args()
    setup_database("gatehouse_bench_costs")
    if not args.no_seed:
        _seed(args.calls)

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
    _compare_with_reference(args.repeat)
    print("\nresult:", "the dashboard is under target" if all(verdicts) else "OVER TARGET")


def _days_ago(days: int) -> str:
    from datetime import timedelta

    return (datetime.now(UTC).date() - timedelta(days=days)).isoformat()


if __name__ == "__main__":
    main()
