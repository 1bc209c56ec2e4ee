"""A recorded-mode fork whose node called the model live and then stopped at its ctx.interrupt()
stays diverged when the node runs again after the decision: the live call comes back from the
fork's own journal (no lookup in the parent's record), and the fork still says where it diverged."""

from __future__ import annotations

from orchestrator.forks import run_fork
from orchestrator.models import JournalEntry, RunStatus
from orchestrator.services import run_start
from review.models import ReviewItem
from review.services import DecisionInput, review_decide


def test_the_fork_still_says_it_diverged_once_its_node_resumed(transactional_db, register_workflows, advance_run,
                                                                make_user, engineer_user):
    from tests.orchestrator.graphs import PARSER

    register_workflows("tests.orchestrator.graphs")
    PARSER["broken"] = False
    rita = make_user("rita", "reviewer")
    parent = advance_run(run_start(workflow="call_then_ask"))
    review_decide(item=ReviewItem.objects.get(run=parent), actor=rita, decision=DecisionInput("approve"))
    parent = advance_run(parent)
    assert parent.status == RunStatus.COMPLETED, parent.error

    # Another model for the node: its call has no match in the record, so it goes live.
    fork = advance_run(run_fork(run=parent, at_step=0, mode="recorded", actor=engineer_user,
                                overrides={"nodes": {"ask": {"model": "demo-large"}}}))
    assert fork.status == RunStatus.SUSPENDED
    review_decide(item=ReviewItem.objects.get(run=fork), actor=rita, decision=DecisionInput("approve"))
    fork = advance_run(fork)

    assert fork.status == RunStatus.COMPLETED, fork.error
    call = JournalEntry.objects.get(run=fork, kind="llm")
    assert not call.replayed and fork.input_tokens > 0, "the node did call the model live"
    assert fork.diverged_at_step is not None, "the fork called live but its page says 'no divergence so far'"
