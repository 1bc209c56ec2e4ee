"""SIGKILL a worker in the middle of node 7: the run finishes after the reconciler, nodes 1–6 are
not run again, and no LLM call or side effect recorded in the journal happens twice."""

from __future__ import annotations

import json
from collections import Counter

from orchestrator.demo.document_pipeline import NODES
from orchestrator.models import Checkpoint, JournalEntry, OutboxMessage, Run
from orchestrator.reconciler import runs_reconcile
from orchestrator.services import run_start
from tests.fakes.llm_server import API_KEY

LLM_NODES = {"classify", "extract_entities", "summarize", "score_risk", "compose_report"}


def _provider_env(fake_llm) -> dict[str, str]:
    return {"OPENAI_BASE_URL": fake_llm.openai_base_url, "OPENAI_API_KEY": API_KEY, "NO_PROXY": "127.0.0.1"}


def test_a_run_killed_during_node_7_completes_without_repeating_work(fake_llm, start_worker, wait_for):
    assert NODES[6] == "summarize"
    run = run_start(workflow="document_pipeline", input={
        "model": "gpt-4o-mini", "slow_node": "summarize", "slow_seconds": 2, "pages": 90})
    worker = start_worker(env=_provider_env(fake_llm))

    # Node 7 has made its LLM call (journaled) and is still running: kill the worker there.
    wait_for(lambda: JournalEntry.objects.filter(run=run, node="summarize").exists(), what="node 7's LLM call")
    worker.kill()
    run.refresh_from_db()
    assert run.status == "running" and run.next_node == "summarize"
    assert run.step == 6

    start_worker(env=_provider_env(fake_llm))
    # The lease (2 s in tests) lapses; the reconciler hands the run back to the queue.
    wait_for(lambda: runs_reconcile().expired_leases or Run.objects.get(pk=run.pk).status != "running",
             timeout=20, what="the lease to expire")
    wait_for(lambda: Run.objects.get(pk=run.pk).status == "completed", timeout=60, what="the run to complete")

    nodes = Counter(Checkpoint.objects.filter(run=run, source="node").values_list("node", flat=True))
    assert nodes == Counter(NODES), "every node committed exactly once"
    prompts = Counter(json.dumps(r.body["messages"]) for r in fake_llm.requests)
    assert len(fake_llm.requests) == len(LLM_NODES), f"each LLM call made once, got {len(fake_llm.requests)}"
    assert max(prompts.values()) == 1
    assert JournalEntry.objects.filter(run=run, kind="llm").count() == len(LLM_NODES)
    assert OutboxMessage.objects.count() == 1, "the archive effect happened once"
    run.refresh_from_db()
    assert run.llm_calls == len(LLM_NODES)
    assert run.input_tokens == sum(JournalEntry.objects.filter(run=run).values_list("input_tokens", flat=True))


def test_an_injected_crash_is_recovered_by_the_reconciler(start_worker, wait_for):
    run = run_start(workflow="document_pipeline", input={"crash_at": "score_risk", "pages": 5})
    start_worker()
    wait_for(lambda: Run.objects.get(pk=run.pk).next_node == "score_risk", what="the run to reach score_risk")
    wait_for(lambda: runs_reconcile().expired_leases or Run.objects.get(pk=run.pk).status == "completed",
             timeout=30, what="the crashed run's lease to expire")
    wait_for(lambda: Run.objects.get(pk=run.pk).status == "completed", timeout=60, what="the run to complete")
    nodes = Counter(Checkpoint.objects.filter(run=run, source="node").values_list("node", flat=True))
    assert nodes == Counter(NODES)
