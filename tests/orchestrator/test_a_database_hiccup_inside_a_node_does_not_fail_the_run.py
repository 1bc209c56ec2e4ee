"""A statement of the engine's own, made from inside a node (here: taking the budget hold before
an LLM call), is cancelled by the database, as a statement timeout, a lock timeout, a deadlock or
an operator's pg_cancel_backend would. The connection survives, so the engine could record a
failure; it must not: the node did nothing wrong. The run says it waits, is taken up again when
its lease lapses, and finishes, paying for each LLM call once."""

from __future__ import annotations

from decimal import Decimal

import psycopg

from orchestrator.models import Budget, Run
from orchestrator.reconciler import runs_reconcile
from orchestrator.services import run_start
from tests.fakes.llm_server import API_KEY
from tests.workers import database_url

LLM_CALLS = 5  # classify, extract_entities, summarize, score_risk, compose_report


def _waiting_on_a_lock(db: psycopg.Connection) -> int | None:
    row = db.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                     " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()").fetchone()
    return row[0] if row else None


def test_a_cancelled_budget_statement_leaves_the_run_to_finish(fake_llm, start_worker, wait_for):
    Budget.objects.create(name="Everything", scope="global", match="", period="total", cap=Decimal("100"))
    run = run_start(workflow="document_pipeline", input={"model": "gpt-4o-mini", "pages": 3})
    with psycopg.connect(database_url()) as db, psycopg.connect(database_url(), autocommit=True) as admin:
        # Hold the budget's usage row, so the worker's hold for its first call waits on it.
        db.execute("SELECT 1 FROM orchestrator_budgetusage FOR UPDATE")
        start_worker(env={"OPENAI_BASE_URL": fake_llm.openai_base_url, "OPENAI_API_KEY": API_KEY,
                          "NO_PROXY": "127.0.0.1"})
        waiting = wait_for(lambda: _waiting_on_a_lock(admin), what="the worker's budget hold to wait on the lock")
        admin.execute("SELECT pg_cancel_backend(%s)", [waiting])

        wait_for(lambda: (Run.objects.get(pk=run.pk).error or {}).get("type") == "EngineUnavailable",
                 what="the run to say why it waits")
        run.refresh_from_db()
        assert run.status == "running", f"the run was {run.status}: {run.error}"
        assert run.error["retrying"] is True and run.error["node"] == "classify"
        assert "canceling statement" in run.error["message"]
        db.rollback()

    wait_for(lambda: runs_reconcile() and Run.objects.get(pk=run.pk).status == "completed", timeout=60,
             what="the run to finish")
    run.refresh_from_db()
    assert run.error is None
    assert len(fake_llm.requests) == LLM_CALLS
