"""A run creates its budget usage rows when it starts (orchestrator.budgets.budget_usage_ensure),
inside run_start's or run_fork's transaction. Rows that already exist — the global budget's,
updated by every hold taken or given back — are not offered to the INSERT again, so starting or
forking a run never queues behind another worker's budget transaction (and a fork, which holds its
parent's row lock meanwhile, cannot deadlock with one)."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from django.db import connection

from orchestrator.forks import run_fork
from orchestrator.models import BudgetUsage, Run
from orchestrator.services import run_start
from tests.workers import database_url


@pytest.fixture
def shared_row_mid_update(priced, make_budget) -> Iterator[tuple[object, object]]:
    """A global and a per-run budget, and another session that has updated the global budget's
    usage row — as a hold being taken does — and not committed yet. Our own statements give up
    on any lock wait at once, so a wait shows up as an error instead of a hang."""
    shared = make_budget("Global", cap="5.00")
    per_run = make_budget("Per run", cap="1.00", scope="run")
    run_start(workflow="cost_probe", input={})  # creates the global budget's row for this period
    other = psycopg.connect(database_url())
    other.execute("UPDATE orchestrator_budgetusage SET reserved = reserved + 1 WHERE budget_id = %s", [shared.pk])
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '50ms'")
    try:
        yield shared, per_run
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
        other.rollback()
        other.close()


def test_a_run_starts_while_another_worker_is_taking_a_hold(shared_row_mid_update):
    _shared, per_run = shared_row_mid_update
    run = run_start(workflow="cost_probe", input={})
    assert BudgetUsage.objects.filter(budget=per_run, run_key=run.pk).exists()


def test_a_run_is_forked_while_another_worker_is_taking_a_hold(shared_row_mid_update):
    _shared, per_run = shared_row_mid_update
    parent = Run.objects.filter(workflow="cost_probe").first()
    Run.objects.filter(pk=parent.pk).update(status="completed")
    fork = run_fork(run=parent, at_step=0, actor=None)
    assert BudgetUsage.objects.filter(budget=per_run, run_key=fork.pk).exists()
