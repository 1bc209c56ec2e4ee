"""Inbox server time with 100,000 pending review items across 20 workflows.

    .venv/bin/python bench/inbox_100k.py [--items 100000] [--repeat 15]

Bulk-inserts the items directly (2,000 runs × 50 gate steps, realistic request JSON of ~600 bytes),
ANALYZEs, then times whole requests through Django's test client as a logged-in reviewer — URL
routing, session, the selector's queries, template rendering — for the first page and filtered
pages. Target: first page and a filtered page under 100 ms of server time (median).

Runs against a scratch database `gatehouse_bench_inbox` on the embedded (or configured) Postgres.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from bench.pages import insert_runs, setup_database, time_get, user_in_group  # noqa: E402

TARGET_MS = 100.0
WORKFLOWS = 20
RUNS = 2000


def _seed(items: int) -> None:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE review_reviewdecision, review_reviewitem RESTART IDENTITY CASCADE")
        cursor.execute("DELETE FROM orchestrator_run WHERE thread_id LIKE 'bench-inbox-%%'")
        insert_runs(cursor, prefix="bench-inbox-", count=RUNS, workflows=WORKFLOWS, status="'suspended'",
                    suspended_reason="'gate'", step="50", next_node="'review'", visit_step="50",
                    input_tokens="1000", output_tokens="500", cost="0.01", llm_calls="3")
        cursor.execute(
            """
            INSERT INTO review_reviewitem
              (run_id, step, node, kind, status, workflow, action, summary, risk, reviewer_group,
               required_approvals, approvals, request, created_at, due_at, decision, reason, response,
               notified_at, escalated_from)
            SELECT r.id, 1 + (g / %(runs)s), 'review', 'gate', 'pending', r.workflow, 'send_email',
                   'The agent proposes to send this email to **user' || g || '@example.com**.',
                   (ARRAY['low', 'medium', 'high', 'critical'])[1 + g %% 4], 'reviewer',
                   1 + (g %% 10 = 0)::int, 0,
                   json_build_object(
                     'action', 'send_email',
                     'args', json_build_object('to', 'user' || g || '@example.com',
                                               'subject', 'Quarterly update ' || g,
                                               'body', 'Hello, ' || repeat('here is the update on the numbers. ', 12)),
                     'description', 'The agent proposes to send this email to **user' || g || '@example.com**.',
                     'risk', 'high', 'relevant', json_build_array('topic'))::text,
                   now() - (g || ' seconds')::interval,
                   CASE WHEN g %% 3 = 0 THEN now() - ((g %% 500) || ' minutes')::interval
                        ELSE now() + interval '1 day' END,
                   '', '', '', now(), ''
            FROM generate_series(0, %(items)s - 1) AS g
            JOIN orchestrator_run r ON r.thread_id = 'bench-inbox-' || (1 + g %% %(runs)s)
            """,
            {"items": items, "runs": RUNS},
        )
        cursor.execute("ANALYZE orchestrator_run")
        cursor.execute("ANALYZE review_reviewitem")
        cursor.execute("SELECT count(*) FROM review_reviewitem WHERE status = 'pending'")
        (count,) = cursor.fetchone()
    print(f"seeded {count:,} pending items across {WORKFLOWS} workflows in {time.perf_counter() - started:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    setup_database("gatehouse_bench_inbox")
    _seed(args.items)

    from django.test import Client

    from review.models import ReviewItem

    client = Client()
    client.force_login(user_in_group("bench-reviewer", "reviewer"))
    # A cursor from deep in the list: keyset pages cost the same at any depth.
    deep = ReviewItem.objects.order_by("-created_at", "-id").values_list("created_at", "id")[args.items // 2]
    from urllib.parse import quote

    cursor = quote(f"{deep[0].isoformat()}_{deep[1]}")
    cases = [
        ("first page", "/inbox/", None, True),
        ("filtered: workflow", "/inbox/?workflow=workflow_07", None, True),
        ("filtered: risk=critical", "/inbox/?risk=critical", None, True),
        ("filtered: overdue", "/inbox/?scope=overdue", None, True),
        ("filtered: unassigned", "/inbox/?scope=unassigned", None, False),
        ("filtered: mine (none)", "/inbox/?scope=mine", None, False),
        ("filtered: workflow + risk", "/inbox/?workflow=workflow_03&risk=high", None, False),
        ("search: thread id", "/inbox/?q=bench-inbox-1234", None, False),
        ("search: text (trigram)", "/inbox/?q=user77777%40example", None, False),
        ("search: text in 1 % of items", "/inbox/?q=user12", None, False),
        ("search: text matching every item", "/inbox/?q=example", None, False),
        ("keyset page from the middle", f"/inbox/?after={cursor}", None, False),
        ("htmx poll (rows fragment)", "/inbox/", {"HX-Request": "true", "HX-Target": "inbox-rows"}, False),
        ("nav badge count (capped at 999+)", "/inbox/count/", None, False),
    ]
    print(f"\nServer time per request (median of {args.repeat}, Django test client, whole view + template):")
    verdicts = []
    for label, url, headers, targeted in cases:
        median, worst, response = time_get(client, url, args.repeat, headers, warm=2)
        rows = response.content.decode().count('data-item="')
        verdict = ""
        if targeted:
            ok = median < TARGET_MS
            verdicts.append(ok)
            verdict = f"  {'OK' if ok else 'OVER'} (target < {TARGET_MS:.0f} ms)"
        print(f"  {label:<34} median {median:7.1f} ms  max {worst:7.1f} ms  rows {rows:>3}{verdict}")
    print("\nresult:", "all targeted pages under 100 ms" if all(verdicts) else "SOME PAGES OVER TARGET")


if __name__ == "__main__":
    main()
