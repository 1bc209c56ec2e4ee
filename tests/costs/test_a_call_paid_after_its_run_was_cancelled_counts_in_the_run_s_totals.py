"""A run cancelled while one of its LLM calls is in flight: the provider bills that call when it
answers, after the cancel. The journal refuses the call (the node no longer owns the run, and must
not act on the answer), but the run's totals count it, so the run page says what the run cost, as
the costs page (which sums spend rows) does. Before, the call was on the budget and the costs page
but missing from the run's cost and call count."""

from __future__ import annotations

import threading

import pytest

from orchestrator.budgets import budget_settle
from orchestrator.commit import LeaseLost
from orchestrator.models import JournalEntry, Run, SpendEvent
from orchestrator.services import run_cancel, run_start
from tests.costs.calls import COST, REPLY, reserved_call
from tests.fakes.llm_server import API_KEY


def _answered(hold, journal) -> None:
    with pytest.raises(LeaseLost):
        budget_settle(sum_node_spend=False, hold=hold, response=REPLY, cost=COST, latency_ms=5.0, journal=journal)


def test_a_call_answered_after_the_cancel_is_in_the_cancelled_run_s_totals(priced, make_budget):
    make_budget(cap="1.00")
    run = run_start(workflow="cost_probe", input={})
    call = reserved_call(run)

    run_cancel(run=Run.objects.get(pk=run.pk), reason="wrong customer")
    _answered(*call)

    run.refresh_from_db()
    assert run.status == "cancelled"
    assert not JournalEntry.objects.filter(run=run).exists(), "a cancelled node's answer is not recorded"
    assert (run.llm_calls, run.input_tokens, run.output_tokens, run.cost) == (1, 12, 30, COST)


def test_a_call_answered_after_another_worker_took_the_run_is_in_the_run_s_totals(priced, make_budget):
    make_budget(cap="1.00")
    run = run_start(workflow="cost_probe", input={})
    call = reserved_call(run)

    Run.objects.filter(pk=run.pk).update(lease_token=8)  # another worker claimed the run mid-call
    _answered(*call)

    run.refresh_from_db()
    # The new lease holder runs the node again and adds its own call with its step: both were billed.
    assert (run.llm_calls, run.cost, run.status) == (1, COST, "running")


def test_a_worker_s_call_in_flight_when_its_run_is_cancelled_counts_once(fake_llm, start_worker, wait_for):
    run = run_start(workflow="document_pipeline", input={"model": "gpt-4o-mini", "pages": 1})
    fake_llm.release = threading.Event()  # the provider answers only when told to
    try:
        start_worker(env={"OPENAI_BASE_URL": fake_llm.openai_base_url, "OPENAI_API_KEY": API_KEY,
                          "NO_PROXY": "127.0.0.1"})
        wait_for(lambda: fake_llm.requests, what="the worker's first LLM call")
        run_cancel(run=Run.objects.get(pk=run.pk), reason="not needed any more")
    finally:
        fake_llm.release.set()

    wait_for(lambda: SpendEvent.objects.filter(run=run).exists(), what="the answered call to be booked")
    run.refresh_from_db()
    spent = SpendEvent.objects.get(run=run)
    assert run.status == "cancelled" and len(fake_llm.requests) == 1, "the node stopped after the cancel"
    assert spent.cost > 0
    assert (run.llm_calls, run.input_tokens, run.cost) == (1, spent.input_tokens, spent.cost), (
        "the run's totals miss a call its provider billed")
