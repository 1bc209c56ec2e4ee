"""Decision log server time over 1,000,000 recorded decisions (a year of them, 50 reviewers, 20 workflows).

    .venv/bin/python bench/decisions_1m.py [--decisions 1000000] [--repeat 7] [--no-seed]

Bulk-inserts decided review items and one decision each (70 % approve, 15 % edit, 10 % reject,
5 % respond; one every 30 s), ANALYZEs, then times whole requests through Django's test client as a
logged-in compliance officer: the first page, each filter the page offers (a reviewer, a workflow,
a decision, one day, and two at once), a page from the middle, and the htmx refresh.
Target: every one under 100 ms (median), as the inbox and the runs list.

Runs against a scratch database `gatehouse_bench_decisions` on the embedded (or configured) Postgres.
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

from bench.pages import insert_runs, setup_database, time_pages, user_in_group  # noqa: E402

TARGET_MS = 100.0
WORKFLOWS = 20
REVIEWERS = 50
GATES_PER_RUN = 10
SPACING_S = 30


def _seed(decisions: int) -> None:
    from django.db import connection

    started = time.perf_counter()
    reviewers = [user_in_group(f"bench-reviewer-{n:02d}", "reviewer").pk for n in range(REVIEWERS)]
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE review_reviewdecision, review_reviewitem RESTART IDENTITY CASCADE")
        cursor.execute("DELETE FROM orchestrator_run WHERE thread_id LIKE 'bench-decisions-%%'")
        insert_runs(cursor, prefix="bench-decisions-", count=decisions // GATES_PER_RUN, workflows=WORKFLOWS,
                    created_at=f"now() - (g * {SPACING_S * GATES_PER_RUN} || ' seconds')::interval")
        cursor.execute(
            """
            INSERT INTO review_reviewitem
              (run_id, step, node, kind, status, workflow, action, summary, risk, reviewer_group,
               required_approvals, approvals, request, created_at, decision, reason, response, escalated_from,
               decided_at)
            SELECT r.id, s, 'review', 'gate', 'decided', r.workflow, 'send_email', 'Send the quarterly update',
                   'medium', 'reviewer', 1, 1, '{}', r.created_at + (s * 30 || ' seconds')::interval,
                   '', '', '', '', r.created_at + (s * 30 + 20 || ' seconds')::interval
            FROM orchestrator_run r, generate_series(1, %(gates)s) AS s
            WHERE r.thread_id LIKE 'bench-decisions-%%'
            """, {"gates": GATES_PER_RUN})
        cursor.execute(
            """
            INSERT INTO review_reviewdecision (item_id, actor_id, decision, reason, edits, response, created_at)
            SELECT i.id, (%(reviewers)s::int[])[1 + i.id %% %(n)s],
                   CASE WHEN i.id %% 20 < 14 THEN 'approve' WHEN i.id %% 20 < 17 THEN 'edit'
                        WHEN i.id %% 20 < 19 THEN 'reject' ELSE 'respond' END,
                   CASE WHEN i.id %% 20 IN (17, 18) THEN 'The figures are last quarter''s' ELSE '' END,
                   CASE WHEN i.id %% 20 BETWEEN 14 AND 16 THEN '{"subject": "Quarterly update (revised)"}'::jsonb END,
                   CASE WHEN i.id %% 20 = 19 THEN 'Use the new template' ELSE '' END,
                   i.decided_at
            FROM review_reviewitem i
            """, {"reviewers": reviewers, "n": REVIEWERS})
        cursor.execute("ANALYZE orchestrator_run")
        cursor.execute("ANALYZE review_reviewitem")
        cursor.execute("ANALYZE review_reviewdecision")
        cursor.execute("SELECT count(*) FROM review_reviewdecision")
        (count,) = cursor.fetchone()
    print(f"seeded {count:,} decisions by {REVIEWERS} reviewers in {time.perf_counter() - started:.1f} s")


def _middle_cursor() -> str:
    from audit.keyset import _cursor
    from review.models import ReviewDecision

    count = ReviewDecision.objects.count()
    return _cursor(ReviewDecision.objects.order_by("-created_at", "-id")[count // 2])


def _reference(repeat: int, cursor: str) -> None:
    """The log's reads against the reference, the same reads without session 20's two indexes: each
    dropped inside a transaction that is rolled back (PostgreSQL's DDL is transactional), so the
    planner sees the table as it was before."""
    import statistics

    from django.db import connection, transaction
    from django.http import QueryDict

    from audit.selectors_ledger import DecisionFilters, decision_actors, decision_log, ledger_workflows

    actors, workflows = decision_actors(), ledger_workflows()
    cases = [("first page", "", ""), ("one reviewer", "actor=bench-reviewer-07", ""),
             ("one workflow", "workflow=workflow_03", ""), ("page from the middle", "", cursor)]
    print(f"\nThe log's read, against the reference (median of {repeat}, alternated):")
    for label, query, at in cases:
        filters = DecisionFilters.from_query(QueryDict(query), actors=actors, workflows=workflows)
        ours, reference = [], []
        for _ in range(repeat):
            started = time.perf_counter()
            decision_log(filters, cursor=at)
            ours.append((time.perf_counter() - started) * 1000)
            with transaction.atomic():
                with connection.cursor() as sql:
                    sql.execute("DROP INDEX decision_recent; DROP INDEX decision_actor_recent; "
                                "CREATE INDEX bench_actor ON review_reviewdecision (actor_id)")
                started = time.perf_counter()
                decision_log(filters, cursor=at)
                reference.append((time.perf_counter() - started) * 1000)
                transaction.set_rollback(True)
        a, b = statistics.median(ours), statistics.median(reference)
        print(f"  {label:<22} {a:8.1f} ms   reference {b:8.1f} ms   x{b / a:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--no-seed", action="store_true", help="reuse the decisions of the previous run")
    args = parser.parse_args()
    setup_database("gatehouse_bench_decisions")
    if not args.no_seed:
        _seed(args.decisions)

    from django.test import Client

    client = Client()
    client.force_login(user_in_group("bench-compliance", "compliance"))
    day = (datetime.now(UTC).date() - timedelta(days=100)).isoformat()
    cases = [
        ("first page", "/audit/decisions/", None),
        ("one reviewer (2 %)", "/audit/decisions/?actor=bench-reviewer-07", None),
        ("one workflow (5 %)", "/audit/decisions/?workflow=workflow_03", None),
        ("rejections (10 %)", "/audit/decisions/?decision=reject", None),
        ("one day, 100 days ago", f"/audit/decisions/?since={day}&until={day}", None),
        ("a reviewer's rejections (0.2 %)", "/audit/decisions/?actor=bench-reviewer-07&decision=reject", None),
        ("page from the middle", f"/audit/decisions/?cursor={(middle := _middle_cursor())}", None),
        ("htmx refresh (rows fragment)", "/audit/decisions/", {"HX-Request": "true"}),
    ]
    over = time_pages(client, cases, repeat=args.repeat, target_ms=TARGET_MS, row_marker='data-testid="decision-row"')
    _reference(args.repeat, middle)
    print(f"\nresult: every page under {TARGET_MS:.0f} ms" if not over else f"\nresult: OVER TARGET: {', '.join(over)}")


if __name__ == "__main__":
    main()
