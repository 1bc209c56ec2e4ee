"""The anomaly check's query over spend history (a node's rolling p95) can fail, e.g. on a statement
timeout. It runs before the provider is called, so its failure costs nothing: a paid answer is always
settled and journaled, and the node never pays for the same call again. Being the engine's own query,
its failure neither fails the run nor spends a retry: the job ends and the run goes on once its lease
lapses."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from orchestrator import cost_alerts
from orchestrator.models import JournalEntry, Run, SpendEvent
from orchestrator.reconciler import runs_reconcile
from orchestrator.services import run_start


def test_a_spend_norm_query_that_times_out_does_not_pay_for_a_call_twice(priced, advance, fake_llm, monkeypatch):
    real_node_p95 = cost_alerts.node_p95
    timed_out = []

    def node_p95_timing_out_once(**query):
        if not timed_out:
            timed_out.append(query["node"])
            # A real statement timeout from PostgreSQL, as a slow p95 over a large spend table gives.
            with connection.cursor() as cursor:
                cursor.execute("SET statement_timeout = 1")
                try:
                    cursor.execute("SELECT pg_sleep(1)")
                finally:
                    cursor.execute("RESET statement_timeout")
        return real_node_p95(**query)

    monkeypatch.setattr(cost_alerts, "node_p95", node_p95_timing_out_once)
    run = run_start(workflow="cost_probe", input={"model": "gpt-4o-mini", "calls": 1})

    assert advance(run) == "engine_unavailable"
    assert fake_llm.requests == [], "nothing was paid for before the check"
    assert Run.objects.get(pk=run.pk).status == "running"
    Run.objects.filter(pk=run.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))  # it lapses
    runs_reconcile()
    assert advance(run) == "completed"

    assert timed_out == ["draft"], "the check failed once, in the first node"
    prompts = Counter(json.dumps(r.body["messages"]) for r in fake_llm.requests)
    assert sorted(prompts.values()) == [1, 1], f"each node's call paid once, got {len(fake_llm.requests)} requests"
    assert list(JournalEntry.objects.filter(run=run, kind="llm").values_list("node", flat=True).order_by("id")) == [
        "draft", "polish"]
    assert SpendEvent.objects.filter(run=run).count() == 2
    run.refresh_from_db()
    assert run.llm_calls == 2
