"""A run is cancelled at the moment its worker journals an LLM call the provider just answered.

The cancel locks the run and adds the journaled calls of the visit in progress to the run's totals;
the journal insert checked the run's lease on its own snapshot. A journal row committed after the
cancel counted but before it committed was journaled and never counted: the run page and the run's
ledger entries showed one call (and its cost) less than the costs page, for good. Now the journal
insert and the cancel take conflicting locks on the run row, so one always sees the other: either the
cancel counts the journaled call, or the journal refuses it and the settlement counts it (the provider
billed it). In both orders the run's totals hold every billed call exactly once.
"""

from __future__ import annotations

from django.db.models import Sum

from orchestrator.models import JournalEntry, Run, SpendEvent
from orchestrator.services import run_cancel, run_start
from tests.costs.calls import COST, reserved_call, settle_journaled
from tests.interleave import held_open, in_a_thread, sessions_waiting_on_a_lock, started_while_held


def _cancel(run: Run) -> Run:
    return run_cancel(run=Run.objects.get(pk=run.pk), reason="not needed any more")


def _assert_every_billed_call_counted_once(run: Run) -> None:
    run.refresh_from_db()
    billed = SpendEvent.objects.filter(run=run).aggregate(cost=Sum("cost"))
    journaled = JournalEntry.objects.filter(run=run, kind="llm").aggregate(cost=Sum("cost"))
    assert billed["cost"] == COST, "the provider billed the call once"
    assert run.status == "cancelled"
    assert (run.llm_calls, run.input_tokens, run.output_tokens, run.cost) == (1, 12, 30, COST), (
        f"the run's totals miss or double the call: journaled {journaled['cost']}, billed {billed['cost']}")


def test_a_call_journaled_while_a_cancel_holds_the_run_is_refused_and_counted(priced, make_budget, wait_for):
    make_budget(cap="1.00")
    run = run_start(workflow="cost_probe", input={})
    call = reserved_call(run)

    journaled = started_while_held(lambda: _cancel(run), lambda: settle_journaled(call), wait_for,
                                   what="the journal insert to wait for the cancel")

    _assert_every_billed_call_counted_once(run)
    assert not journaled, "the cancelled node's answer is not recorded (it must not act on it)"
    assert not JournalEntry.objects.filter(run=run).exists()


def test_a_cancel_sent_while_a_call_is_being_journaled_counts_that_call(priced, make_budget, wait_for):
    make_budget(cap="1.00")
    run = run_start(workflow="cost_probe", input={})
    call = reserved_call(run)

    with held_open(lambda: settle_journaled(call)) as journaling:
        cancelling = in_a_thread(lambda: _cancel(run))
        # The cancel must wait for the journal's transaction; if it does not (the defect), it ends now,
        # without the call, and the totals below say so.
        wait_for(lambda: cancelling.done() or sessions_waiting_on_a_lock() > 0,
                 what="the cancel to wait for the journal insert, or to end")
    cancelling.result(timeout=30)

    assert journaling.result(), "the journal took the call: the run was still the worker's"
    assert JournalEntry.objects.filter(run=run, kind="llm").count() == 1
    _assert_every_billed_call_counted_once(run)
