"""Runs list server time over 1,000,000 runs (a year of them, 20 workflows, 2,000 customers).

    .venv/bin/python bench/runs_1m.py [--runs 1000000] [--repeat 7] [--no-seed]

Bulk-inserts the runs directly (96 % completed, 2 % failed, 1 % suspended, 0.5 % running, 0.5 %
cancelled; a department and a customer label; costs up to $0.10), ANALYZEs, then times whole
requests through Django's test client as a logged-in engineer: the first page, each filter the
page offers (workflow, a rare status, a customer label, a thread id typed whole or in part, a text
no run has, one day, a cost floor), a page from the middle of the list, and the htmx refresh.
Each row prints how many runs the page listed. Target: every one under 100 ms (median), as the inbox.
Then the budgets page as an admin, with a per-run cap that has a usage row for every run (the 15,000
runs in progress are the ones its bar reads), against its read before session 21.

Runs against a scratch database `gatehouse_bench_runs` on the embedded (or configured) Postgres.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from bench.pages import alternated, insert_runs, setup_database, time_get, time_pages, user_in_group  # noqa: E402

TARGET_MS = 100.0
WORKFLOWS = 20
CUSTOMERS = 2000
SPACING_S = 30  # a run every 30 s: a million runs is 347 days
PER_RUN_BUDGET = "bench per run"


def _seed(runs: int) -> None:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM orchestrator_run WHERE thread_id LIKE 'bench-runs-%%'")
        insert_runs(
            cursor, prefix="bench-runs-", count=runs, workflows=WORKFLOWS,
            status="CASE WHEN g %% 200 < 4 THEN 'failed' WHEN g %% 200 < 6 THEN 'suspended' "
                   "WHEN g %% 200 = 6 THEN 'running' WHEN g %% 200 = 7 THEN 'cancelled' ELSE 'completed' END",
            labels=f"json_build_object('department', 'dept_' || (g %% 7), 'customer', 'cust_' || (g %% {CUSTOMERS}))",
            cost="((g::bigint * 7919) %% 100000) / 1000000.0", llm_calls="5", input_tokens="4000", output_tokens="800",
            created_at=f"now() - (g * {SPACING_S} || ' seconds')::interval",
            updated_at=f"now() - (g * {SPACING_S} || ' seconds')::interval",
        )
        cursor.execute("ANALYZE orchestrator_run")
        cursor.execute("SELECT count(*) FROM orchestrator_run")
        (count,) = cursor.fetchone()
        # A per-run cap every bench run spent under (the budgets page's bar reads the runs in progress).
        cursor.execute("DELETE FROM orchestrator_budgetusage WHERE budget_id IN "
                       "(SELECT id FROM orchestrator_budget WHERE name = %s)", [PER_RUN_BUDGET])
        cursor.execute("DELETE FROM orchestrator_budget WHERE name = %s", [PER_RUN_BUDGET])
        cursor.execute("INSERT INTO orchestrator_budget (name, scope, match, period, cap, soft_thresholds, active,"
                       " created_at, updated_at, version) VALUES (%s, 'run', '', 'total', 5, '[]', true, now(), now(), 0)"
                       " RETURNING id", [PER_RUN_BUDGET])
        (budget,) = cursor.fetchone()
        cursor.execute("INSERT INTO orchestrator_budgetusage (budget_id, period_start, run_key, spent, reserved,"
                       " alerted_pct, updated_at) SELECT %s, '1970-01-01', id, (id %% 5000) / 1000.0, 0, 0, now()"
                       " FROM orchestrator_run WHERE thread_id LIKE 'bench-runs-%%'", [budget])
        cursor.execute("ANALYZE orchestrator_budgetusage")
    print(f"seeded {runs:,} runs ({count:,} in the table) in {time.perf_counter() - started:.1f} s")


def _middle_cursor(runs: int) -> str:
    from audit.keyset import _cursor
    from orchestrator.models import Run

    return _cursor(Run.objects.get(thread_id=f"bench-runs-{runs // 2}"))


def _reference(case: str, value: str) -> None:
    """The list's read before session 20, the named reference: `icontains` (UPPER(thread_id) LIKE …,
    which no index serves), a cursor as an OR alone (no index bound), and the label filter with no
    index on labels (bitmap scans off, the only way PostgreSQL reads a GIN index)."""
    from django.db import connection, transaction

    order = " ORDER BY created_at DESC, id DESC LIMIT 26"
    with transaction.atomic(), connection.cursor() as cursor:
        if case == "q":
            cursor.execute("SELECT * FROM orchestrator_run WHERE UPPER(thread_id::text) LIKE UPPER(%s)" + order,
                           [f"%{value}%"])
        elif case == "label":
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute("SELECT * FROM orchestrator_run WHERE labels @> %s::jsonb" + order, [value])
        else:
            stamp, pk = value.split("|")
            cursor.execute("SELECT * FROM orchestrator_run WHERE created_at < %s OR (created_at = %s AND id < %s)"
                           + order, [stamp, stamp, int(pk)])
        cursor.fetchall()


def _compare_with_reference(runs: int, repeat: int) -> None:
    import base64

    from audit.selectors_runs_list import RunFilters, runs_page

    cursor = _middle_cursor(runs)
    cases = [
        ("thread id typed whole", "q", f"bench-runs-{runs // 3}", {"q": f"bench-runs-{runs // 3}"}),
        ("a text no run has", "q", "no-such-run", {"q": "no-such-run"}),
        ("label customer=cust_42", "label", '{"customer": "cust_42"}', {"label": "customer=cust_42"}),
        ("page from the middle", "cursor", base64.urlsafe_b64decode(cursor).decode(), {}),
    ]
    print(f"\nThe list's read, against the reference (median of {repeat}, alternated):")
    for label, case, value, query in cases:
        a, b = alternated(
            lambda query=query, at=cursor if case == "cursor" else "": runs_page(
                filters=RunFilters.from_query(query), cursor=at),
            lambda case=case, value=value: _reference(case, value), repeat)
        print(f"  {label:<26} {a:8.1f} ms   reference {b:8.1f} ms   x{b / a:.0f}")


def _budgets_reference() -> None:
    """The per-run cap's read before session 21: the runs in progress as `IN (SELECT …)`, which the
    planner answers by hashing them and reading every usage row the budget ever had."""
    from django.db.models import Count, Window

    from audit.selectors_costs import IN_PROGRESS
    from orchestrator.models import BudgetUsage, Run

    (BudgetUsage.objects.filter(budget__name=PER_RUN_BUDGET, period_start="1970-01-01",
                                run_key__in=Run.objects.filter(status__in=IN_PROGRESS).values("id"))
     .annotate(runs=Window(Count("pk"))).order_by("-spent").first())


def _compare_budgets(repeat: int) -> None:
    from django.test import Client

    from audit.selectors_costs import budget_rows

    client = Client()
    client.force_login(user_in_group("bench-admin", "admin"))
    median, worst, response = time_get(client, "/costs/budgets/", repeat)
    rows = [r for r in budget_rows() if r["budget"].name == PER_RUN_BUDGET]
    verdict = "OK" if median < TARGET_MS else "OVER"
    print(f"\nBudgets page, per-run cap over every run ({rows[0]['runs']:,} in progress): median {median:.1f} ms"
          f"  max {worst:.1f} ms  {verdict}")
    a, b = alternated(budget_rows, _budgets_reference, repeat)
    print(f"  its reads (every budget) {a:8.1f} ms   reference (the per-run cap's read alone) {b:8.1f} ms   "
          f"x{b / a:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--no-seed", action="store_true", help="reuse the runs of the previous run")
    args = parser.parse_args()
    setup_database("gatehouse_bench_runs")
    if not args.no_seed:
        _seed(args.runs)

    from django.test import Client

    client = Client()
    client.force_login(user_in_group("bench-engineer", "engineer"))
    day = (datetime.now(UTC).date() - timedelta(days=200)).isoformat()
    cases = [
        ("first page", "/runs/", None),
        ("workflow", "/runs/?workflow=workflow_07", None),
        ("status failed (2 %)", "/runs/?status=failed", None),
        ("status running (0.5 %)", "/runs/?status=running", None),
        ("label customer=cust_42 (0.05 %)", "/runs/?label=customer%3Dcust_42", None),
        ("thread id typed whole", f"/runs/?q=bench-runs-{args.runs // 3}", None),
        ("part of a thread id", f"/runs/?q=runs-{args.runs // 3}", None),
        ("a text no run has", "/runs/?q=no-such-run", None),
        ("one day, 200 days ago", f"/runs/?since={day}&until={day}", None),
        ("cost floor $0.099 (1 %)", "/runs/?min_cost=0.099", None),
        ("page from the middle", f"/runs/?cursor={_middle_cursor(args.runs)}", None),
        ("htmx refresh (rows fragment)", "/runs/", {"HX-Request": "true", "HX-Target": "runs-rows"}),
    ]
    over = time_pages(client, cases, repeat=args.repeat, target_ms=TARGET_MS, row_marker='data-testid="run-row"')
    _compare_with_reference(args.runs, args.repeat)
    _compare_budgets(args.repeat)
    print(f"\nresult: every page under {TARGET_MS:.0f} ms" if not over else f"\nresult: OVER TARGET: {', '.join(over)}")


if __name__ == "__main__":
    main()
