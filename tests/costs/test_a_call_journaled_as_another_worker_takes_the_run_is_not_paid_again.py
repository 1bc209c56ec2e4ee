"""Another worker takes a run over while the worker that lost it is journaling a call it paid for.

Worker A's lease lapsed while its LLM call was in flight; the provider answered and A's settlement
wrote the call's journal row, visible to others only once A's transaction commits (its WAL flush).
Meanwhile worker B claimed the run. The claim, a no-key UPDATE, did not wait for A's journal insert
(which reads the run row FOR KEY SHARE), so B read the journal without A's row, paid the provider
for the same call again, and crashed on the journal's unique constraint: its settlement rolled back
with its spend row, so the costs page missed a call the provider billed, and the run stood still as
"engine unavailable" until its lease lapsed. Now a claim locks the run row FOR UPDATE: it waits for
A's journal insert to commit, and B reuses A's answer unpaid; or, when the claim comes first, A's
insert waits for it, finds the lease moved on and records nothing (A's call is counted in the run's
totals, as any call answered after a takeover, and B pays for its own).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from orchestrator.executor import Execution, run_advance, run_claim
from orchestrator.history import state_at
from orchestrator.models import JournalEntry, Run, SpendEvent
from orchestrator.registry import workflow_get
from orchestrator.services import run_start
from tests.costs.calls import REPLY, probe_first_request, reserved_call, settle_journaled
from tests.interleave import TIMEOUT, held_open, in_a_thread, sessions_waiting_on_a_lock

MODEL = "gpt-4o-mini"  # answered by the fake provider, which counts what it is asked
B_REPLY = "Worker B's own answer."


def _stale_worker_call(run: Run) -> tuple:
    """Worker A's call of the draft node's first request, answered after A's lease lapsed."""
    call = reserved_call(run, request=probe_first_request(MODEL))
    Run.objects.filter(pk=run.pk).update(lease_expires_at=timezone.now() - timedelta(minutes=1))
    return call



def _assert_every_billed_call_counted_once(run: Run, fake_llm, *, paid_by_b: list[str]) -> None:
    billed = SpendEvent.objects.filter(run=run)
    asked = [r.body["messages"][-1]["content"] for r in fake_llm.requests]
    assert billed.count() == 1 + len(asked), (
        f"the provider billed A's call and B's {asked}, the costs page shows {billed.count()} calls")
    assert asked == paid_by_b
    run.refresh_from_db()
    total = billed.aggregate(cost=Sum("cost"))["cost"]
    assert (run.status, run.llm_calls, run.cost) == ("completed", billed.count(), total), (
        "the run page's totals differ from the costs page")


def test_a_call_journaled_as_another_worker_claims_the_run_is_reused_not_paid_again(priced, make_budget, fake_llm,
                                                                                   wait_for):
    make_budget(cap="5.00")
    run = run_start(workflow="cost_probe", input={"model": MODEL, "calls": 1})
    stale = _stale_worker_call(run)
    fake_llm.reply_text = B_REPLY

    with held_open(lambda: settle_journaled(stale)) as journaling:
        taking_over = in_a_thread(lambda: run_advance(run.pk, worker="worker-b"))
        # B waits for A's transaction somewhere (its claim, now; its own journal insert, before).
        wait_for(lambda: taking_over.done() or sessions_waiting_on_a_lock() > 0,
                 what="worker B to wait for worker A's journal insert, or to end")
    outcome = taking_over.result(timeout=TIMEOUT)

    assert journaling.result(), "A's call was journaled: the run was still A's when it was"
    _assert_every_billed_call_counted_once(run, fake_llm, paid_by_b=["polish #0: one sentence about budgets"])
    assert outcome == "completed"
    assert state_at(run.pk, run.step)["replies"] == [REPLY.text, B_REPLY], "B went on with the answer A recorded"


def test_a_call_answered_while_another_worker_claims_the_run_is_refused_and_counted(priced, make_budget, fake_llm,
                                                                                   wait_for):
    make_budget(cap="5.00")
    run = run_start(workflow="cost_probe", input={"model": MODEL, "calls": 1})
    stale = _stale_worker_call(run)
    fake_llm.reply_text = B_REPLY
    lease = settings.GATEHOUSE_LEASE_SECONDS

    with held_open(lambda: run_claim(run.pk, "worker-b", lease)) as claiming:
        settling = in_a_thread(lambda: settle_journaled(stale))
        wait_for(lambda: settling.done() or sessions_waiting_on_a_lock() > 0,
                 what="worker A's journal insert to wait for B's claim, or to end")
    journaled = settling.result(timeout=TIMEOUT)

    assert not journaled, "A recorded its answer after B had claimed the run: two writers on one run"
    assert not JournalEntry.objects.filter(run=run).exists()
    claim = claiming.result(timeout=TIMEOUT)
    assert Execution(claim, workflow_get("cost_probe"), lease).advance() == "completed"
    _assert_every_billed_call_counted_once(run, fake_llm, paid_by_b=[
        "draft #0: one sentence about budgets", "polish #0: one sentence about budgets"])
