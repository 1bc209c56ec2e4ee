"""ctx.interrupt() resumes with the decision without repeating journaled calls; cancel fences a
worker; a structurally changed workflow is not resumed unless forced."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from orchestrator.commit import LeaseLost
from orchestrator.executor import Execution, run_advance, run_claim
from orchestrator.history import state_at
from orchestrator.models import Checkpoint, Run
from orchestrator.registry import workflow_get
from orchestrator.services import RunError, run_cancel, run_start
from review.models import ReviewItem
from review.services import DecisionInput, review_decide


def test_a_dynamic_interrupt_returns_the_persons_answer_to_the_node(db, test_graphs, make_user):
    run = run_start(workflow="sequence")
    assert run_advance(run.pk, worker="test") == "suspended"
    item = ReviewItem.objects.get(run=run)
    assert item.node == "ask" and item.action == "confirm"
    review_decide(item=item, actor=make_user("rita", "reviewer"),
                  decision=DecisionInput("respond", response="go on, carefully"))
    assert run_advance(run.pk, worker="test") == "completed"
    run.refresh_from_db()
    state = state_at(run.pk, run.step)
    assert state["answer"] == "go on, carefully" and state["n"] == 4 and state["seen"] == [1, 2, 3, 4]
    assert [c.node for c in Checkpoint.objects.filter(run=run, source="node").order_by("step")] == \
        ["a", "b", "c", "ask", "d"]


def test_an_edit_at_a_dynamic_interrupt_reaches_the_node_without_breaking_its_earlier_calls(db, test_graphs,
                                                                                            make_user):
    run = run_start(workflow="interrupt_edit", input={"answer": "cats"})
    assert run_advance(run.pk, worker="test") == "suspended"
    review_decide(item=ReviewItem.objects.get(run=run), actor=make_user("rita", "reviewer"),
                  decision=DecisionInput("edit", edits={"answer": "dogs"}))
    assert run_advance(run.pk, worker="test") == "completed", Run.objects.get(pk=run.pk).error
    run.refresh_from_db()
    assert state_at(run.pk, run.step)["answer"] == "dogs"
    assert run.llm_calls == 1, "the draft was not paid for twice"


def test_cancelling_a_running_run_rejects_the_workers_next_commit(db, test_graphs):
    run = run_start(workflow="sequence")
    execution = Execution(run_claim(run.pk, "worker-a", 30), workflow_get("sequence"), 30)
    assert execution.step_once() == "running"
    run_cancel(run=Run.objects.get(pk=run.pk))
    with pytest.raises(LeaseLost):
        execution.step_once()
    run.refresh_from_db()
    assert run.status == "cancelled" and run.step == 1


def test_a_node_cancelled_mid_visit_does_not_carry_out_its_side_effect(db, test_graphs):
    from tests.orchestrator.graphs import SENT

    SENT.clear()
    run = run_start(workflow="cancelled_mid_node")
    assert run_advance(run.pk, worker="test") == "lease_lost"
    run.refresh_from_db()
    assert run.status == "cancelled"
    assert SENT == [], "the money was not wired after the run was cancelled"


def test_a_structurally_changed_workflow_is_not_resumed_unless_forced(db, make_user):
    run = run_start(workflow="email_approval", input={"to": "a@b.co", "topic": "x"})
    run_advance(run.pk, worker="test")
    Run.objects.filter(pk=run.pk).update(graph_version="000000000000.000000000000")
    item = ReviewItem.objects.get(run=run)
    rita = make_user("rita", "reviewer")
    with pytest.raises(RunError, match="changed incompatibly.*--force-version"):
        review_decide(item=item, actor=rita, decision=DecisionInput("approve"))
    review_decide(item=item, actor=rita, decision=DecisionInput("approve"), force_version=True)
    assert run_advance(run.pk, worker="test") == "completed"


def test_a_code_only_change_is_compatible(db):
    run = run_start(workflow="email_approval", input={"to": "a@b.co", "topic": "x"})
    structure = workflow_get("email_approval").version.split(".")[0]
    Run.objects.filter(pk=run.pk).update(graph_version=f"{structure}.ffffffffffff")
    assert run_advance(run.pk, worker="test") == "suspended"


def test_spend_of_a_node_interrupted_by_its_gate_is_counted_once(db, test_graphs, make_user):
    from orchestrator.models import JournalEntry

    run = run_start(workflow="sequence", input={"ask_llm": True})
    assert run_advance(run.pk, worker="test") == "suspended"
    assert Run.objects.get(pk=run.pk).llm_calls == 1  # counted when the node suspends, and only then
    review_decide(item=ReviewItem.objects.get(run=run), actor=make_user("rita", "reviewer"),
                  decision=DecisionInput("approve"))
    assert run_advance(run.pk, worker="test") == "completed"
    run.refresh_from_db()
    journal = JournalEntry.objects.filter(run=run, kind="llm")
    assert journal.count() == 1 and run.llm_calls == 1
    assert run.cost == journal.get().cost and run.input_tokens == journal.get().input_tokens


def test_spend_before_a_gate_counts_even_when_the_run_is_then_cancelled(db, test_graphs):
    from orchestrator.models import JournalEntry

    run = run_start(workflow="sequence", input={"ask_llm": True})
    assert run_advance(run.pk, worker="test") == "suspended"
    run_cancel(run=Run.objects.get(pk=run.pk), reason="not now")
    run.refresh_from_db()
    assert run.status == "cancelled"
    assert run.llm_calls == 1 and run.cost == JournalEntry.objects.get(run=run, kind="llm").cost > 0


def test_a_failed_visits_calls_are_not_counted_again_when_the_run_is_retried(db, test_graphs):
    from orchestrator.models import JournalEntry
    from orchestrator.services import run_retry
    from tests.orchestrator.graphs import PARSER

    PARSER["broken"] = True
    run = run_start(workflow="call_then_parse")
    assert run_advance(run.pk, worker="test") == "failed"
    assert Run.objects.get(pk=run.pk).llm_calls == 1, "the failed visit's call is in the totals"
    PARSER["broken"] = False
    run_retry(run=Run.objects.get(pk=run.pk))
    assert run_advance(run.pk, worker="test") == "completed"
    run.refresh_from_db()
    call = JournalEntry.objects.get(run=run, kind="llm")
    assert (run.llm_calls, run.cost, run.input_tokens) == (1, call.cost, call.input_tokens)


def _call_then_ask_approved(make_user) -> Run:
    """A call_then_ask run whose node made its LLM call, asked, and was approved: queued to run again."""
    from tests.orchestrator.graphs import PARSER

    PARSER["broken"] = False
    run = run_start(workflow="call_then_ask")
    assert run_advance(run.pk, worker="test") == "suspended"
    review_decide(item=ReviewItem.objects.get(run=run), actor=make_user("rita", "reviewer"),
                  decision=DecisionInput("approve"))
    return run


def test_a_visit_that_fails_after_its_gate_keeps_its_counted_calls_through_a_retry(db, test_graphs, make_user):
    from orchestrator.models import JournalEntry
    from orchestrator.services import run_retry
    from tests.orchestrator.graphs import PARSER

    run = _call_then_ask_approved(make_user)
    PARSER["broken"] = True  # the re-run fails before it reaches its recorded call
    assert run_advance(run.pk, worker="test") == "failed"
    PARSER["broken"] = False
    run_retry(run=Run.objects.get(pk=run.pk))
    assert run_advance(run.pk, worker="test") == "completed", Run.objects.get(pk=run.pk).error
    run.refresh_from_db()
    call = JournalEntry.objects.get(run=run, kind="llm")
    assert (run.llm_calls, run.cost) == (1, call.cost)


def test_the_node_after_a_resumed_visit_counts_its_own_call_after_a_crash(db, test_graphs, make_user):
    """The visit after a gate's starts with nothing counted: its recorded call, made by a worker that
    died before committing, is counted once when the node runs again."""
    from orchestrator.models import JournalEntry
    from orchestrator.services import run_retry
    from tests.orchestrator.graphs import FLAKY, PARSER

    PARSER["broken"], FLAKY["mode"] = False, "fail_before_call"
    run = run_start(workflow="ask_then_flaky")
    assert run_advance(run.pk, worker="test") == "suspended"
    review_decide(item=ReviewItem.objects.get(run=run), actor=make_user("rita", "reviewer"),
                  decision=DecisionInput("approve"))
    assert run_advance(run.pk, worker="test") == "failed"  # "ask" completed, "second" failed before calling
    run_retry(run=Run.objects.get(pk=run.pk))
    FLAKY["mode"] = "crash_after_call"
    with pytest.raises(KeyboardInterrupt):
        run_advance(run.pk, worker="dies")
    Run.objects.filter(pk=run.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    FLAKY["mode"] = ""
    assert run_advance(run.pk, worker="test") == "completed", Run.objects.get(pk=run.pk).error

    run.refresh_from_db()
    calls = list(JournalEntry.objects.filter(run=run, kind="llm"))
    assert len(calls) == 2  # one per node, none paid twice
    assert (run.llm_calls, run.cost) == (2, sum(c.cost for c in calls))


def test_a_node_whose_prompt_reads_the_whole_state_resumes_after_its_interrupt(db, test_graphs, make_user):
    run = _call_then_ask_approved(make_user)
    assert run_advance(run.pk, worker="test") == "completed", Run.objects.get(pk=run.pk).error
    run.refresh_from_db()
    assert state_at(run.pk, run.step)["answer"] == "approve"


def test_a_loop_guard_between_a_decision_and_the_nodes_run_keeps_the_decision(db, test_graphs, settings,
                                                                             make_user):
    from orchestrator.models import JournalEntry

    settings.GATEHOUSE_STEP_CAP = 2  # reached right after the decision, before the node runs again
    run = _call_then_ask_approved(make_user)
    assert run_advance(run.pk, worker="test") == "suspended"
    guard = ReviewItem.objects.get(run=run, status="pending")
    assert guard.kind == "loop_guard"
    review_decide(item=guard, actor=make_user("eve", "engineer"), decision=DecisionInput("approve"))

    assert run_advance(run.pk, worker="test") == "completed", "the reviewer is not asked again"
    run.refresh_from_db()
    assert state_at(run.pk, run.step)["answer"] == "approve"
    assert JournalEntry.objects.filter(run=run, kind="llm").count() == 1, "the draft was not paid for again"
    assert run.llm_calls == 1
    from audit.selectors_run_detail import checkpoint_journal
    from orchestrator.models import Checkpoint

    step = Checkpoint.objects.get(run=run, source="node", node="ask")
    assert len(checkpoint_journal(run, step)) == 2, "the step's page lists its call and its answer"


def test_an_error_that_is_not_retryable_is_not_retried(db):
    from orchestrator.graph import RetryPolicy
    from orchestrator.llm.pricing import UnpricedModelError

    policy = RetryPolicy(max_attempts=3)
    assert not policy.should_retry(UnpricedModelError("nope-model"), 1)
    assert policy.should_retry(RuntimeError("flaky"), 1)
