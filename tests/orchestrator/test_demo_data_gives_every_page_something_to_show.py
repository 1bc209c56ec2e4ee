"""`make run` seeds demo runs so a newcomer's first look finds every page filled, as the README
promises: gates waiting in the inbox, a failed run to retry, a stuck loop, a fork replayed from its
parent's recorded calls (compare and fork-family pages), and a run a budget stopped (Budgets page)."""

from __future__ import annotations

import io

from django.contrib.auth import get_user_model
from django.core.management import call_command

from orchestrator.models import Run
from review.models import ReviewItem


def test_the_demo_seeds_every_kind_of_run_the_pages_show(transactional_db, redis_conn, settings, client_for):
    settings.GATEHOUSE_DEV_MODE = True
    call_command("demo_users", stdout=io.StringIO())
    out = io.StringIO()
    call_command("seed_demo_runs", stdout=out)

    assert "demo runs: seeded 13" in out.getvalue()
    statuses = set(Run.objects.values_list("status", flat=True))
    assert {"completed", "suspended", "failed"} <= statuses
    pending = set(ReviewItem.objects.filter(status="pending").values_list("kind", flat=True))
    assert {"gate", "loop_guard", "budget_exceeded"} <= pending

    fork = Run.objects.get(parent__isnull=False)
    assert (fork.status, fork.parent.workflow) == ("completed", "research_agent")
    assert fork.forked_from_step is not None

    admin = client_for(get_user_model().objects.get(username="admin"))  # the demo's admin
    budgets = admin.get("/costs/budgets/").content.decode()
    assert 'data-testid="budget-stop"' in budgets and "Research department (demo)" in budgets
    assert "stopped by a budget" in admin.get("/costs/").content.decode()
    compare = admin.get(f"/runs/{fork.thread_id}/compare/")
    assert compare.status_code == 200 and fork.parent.thread_id in compare.content.decode()
    assert fork.thread_id in admin.get(f"/runs/{fork.parent.thread_id}/family/").content.decode()


def test_seeding_again_leaves_the_demo_alone(transactional_db, redis_conn, settings):
    settings.GATEHOUSE_DEV_MODE = True
    call_command("demo_users", stdout=io.StringIO())
    call_command("seed_demo_runs", stdout=io.StringIO())
    runs = Run.objects.count()
    out = io.StringIO()
    call_command("seed_demo_runs", stdout=out)
    assert out.getvalue().strip() == "demo runs: already seeded" and Run.objects.count() == runs
