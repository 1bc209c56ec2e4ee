"""A streamed call cut off mid-way is in its run's totals once, however the visit ends: the run page
and the costs page agree on what the run cost.

The cut-off stream was billed for what it received (a partial spend row, test_cut_off_stream_is_billed),
but the run's totals took it only with the visit's commit (its step, or its failure). A run
cancelled while the node retried never commits that visit, and the cancel counts the visit's
journaled calls, which a cut-off call is not (there is no answer to reuse): the run page showed one
call and its cost less than the costs page, for good. Now the statement that books the cut-off call
adds it to the run's totals, and the visit's commit leaves it out.
"""

from __future__ import annotations

import threading

from django.db.models import Sum

from orchestrator.executor import run_advance
from orchestrator.models import Checkpoint, Run, SpendEvent
from orchestrator.services import run_cancel, run_start
from tests.fakes.llm_server import API_KEY, FakeLLMServer
from tests.interleave import TIMEOUT, in_a_thread

INPUT = {"model": "gpt-4o-mini", "calls": 1, "stream": True}


def _cut_off_then_retried(fake_llm: FakeLLMServer, wait_for, start) -> threading.Event:
    """Start the run's worker (`start`); its first call's stream is cut off after four words, and the
    node's retry calls again. Returns the event that lets the provider answer the retry."""
    fake_llm.reply_text = "one two three four five six seven eight nine ten eleven twelve"
    fake_llm.cut_stream_after = 4
    first, retried = threading.Event(), threading.Event()  # the provider answers each call when told to
    fake_llm.release = first
    try:
        start()
        wait_for(lambda: fake_llm.requests, what="the worker's first LLM call")
        fake_llm.release = retried
        first.set()
        wait_for(lambda: len(fake_llm.requests) == 2, what="the node to retry the cut-off call")
    except BaseException:
        retried.set()
        raise
    finally:
        first.set()
    fake_llm.cut_stream_after = None  # the retry is answered in full
    return retried


def _assert_run_totals_are_the_costs_page_s(run: Run, *, calls: int) -> None:
    run.refresh_from_db()
    billed = SpendEvent.objects.filter(run=run)
    assert billed.filter(partial=True).count() == 1, "the cut-off call is billed"
    totals = billed.aggregate(input=Sum("input_tokens"), output=Sum("output_tokens"), cost=Sum("cost"))
    assert (run.llm_calls, run.input_tokens, run.output_tokens, run.cost) == (
        calls, totals["input"], totals["output"], totals["cost"]), (
        f"the run page shows {run.llm_calls} calls costing {run.cost}, the costs page {billed.count()} "
        f"costing {totals['cost']}")


def test_a_stream_cut_off_before_its_run_was_cancelled_is_in_the_run_s_totals(priced, fake_llm, start_worker,
                                                                             wait_for):
    run = run_start(workflow="cost_probe", input=INPUT)
    retried = _cut_off_then_retried(fake_llm, wait_for, lambda: start_worker(env={
        "OPENAI_BASE_URL": fake_llm.openai_base_url, "OPENAI_API_KEY": API_KEY, "NO_PROXY": "127.0.0.1"}))
    try:
        run_cancel(run=Run.objects.get(pk=run.pk), reason="not needed any more")
    finally:
        retried.set()  # the retry's answer comes after the cancel: billed, refused by the journal

    wait_for(lambda: SpendEvent.objects.filter(run=run).count() == 2, what="the retried call to be booked")
    _assert_run_totals_are_the_costs_page_s(run, calls=2)
    assert run.status == "cancelled"


def test_a_stream_cut_off_and_retried_to_the_end_of_the_run_is_counted_once(priced, fake_llm, wait_for):
    run = run_start(workflow="cost_probe", input=INPUT)
    advancing: list = []
    retried = _cut_off_then_retried(fake_llm, wait_for, lambda: advancing.append(
        in_a_thread(lambda: run_advance(run.pk, worker="test-inline"))))
    retried.set()

    assert advancing[0].result(timeout=TIMEOUT) == "completed"
    _assert_run_totals_are_the_costs_page_s(run, calls=3)  # the cut-off draft, its retry, the polish
    steps = Checkpoint.objects.filter(run=run, source="node").aggregate(cost=Sum("cost"), tokens=Sum("output_tokens"))
    assert (steps["cost"], steps["tokens"]) == (run.cost, run.output_tokens), (
        "each step's own figures (its checkpoint, its ledger entry) still hold its cut-off call")
