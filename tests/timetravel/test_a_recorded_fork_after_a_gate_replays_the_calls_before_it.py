"""A recorded-mode fork taken at a gate (or right after its decision) replays the calls its node made
before the gate: that node's visit began before the fork's checkpoint, and the fork runs it again
from the start, so its recorded answers are the parent's, at zero tokens."""

from __future__ import annotations

import pytest

from orchestrator.forks import run_fork
from orchestrator.models import Checkpoint, JournalEntry, RunStatus
from orchestrator.services import run_start
from review.models import ReviewItem
from review.services import DecisionInput, review_decide


@pytest.fixture
def asked_and_approved(transactional_db, register_workflows, advance_run, make_user):
    """A call_then_ask run: its node made an LLM call, asked (checkpoint 1, a gate), was approved
    (checkpoint 2, the decision) and completed."""
    from tests.orchestrator.graphs import PARSER

    register_workflows("tests.orchestrator.graphs")
    PARSER["broken"] = False
    run = advance_run(run_start(workflow="call_then_ask"))
    assert run.status == RunStatus.SUSPENDED
    review_decide(item=ReviewItem.objects.get(run=run), actor=make_user("rita", "reviewer"),
                  decision=DecisionInput("approve"))
    run = advance_run(run)
    assert run.status == RunStatus.COMPLETED, run.error
    assert list(Checkpoint.objects.filter(run=run).order_by("step").values_list("source", flat=True)) == \
        ["input", "gate", "decision", "node"]
    return run


@pytest.mark.parametrize("at_step", [1, 2], ids=["at-the-gate", "after-the-decision"])
def test_the_fork_pays_nothing_for_the_call_its_node_made_before_the_gate(asked_and_approved, advance_run,
                                                                           engineer_user, at_step):
    fork = advance_run(run_fork(run=asked_and_approved, at_step=at_step, mode="recorded", actor=engineer_user))

    call = JournalEntry.objects.get(run=fork, kind="llm")
    parent_call = JournalEntry.objects.get(run=asked_and_approved, kind="llm")
    assert call.replayed, "the parent's recorded answer was not reused: the fork paid for the call"
    assert call.result == parent_call.result
    assert (fork.input_tokens, fork.output_tokens, fork.cost) == (0, 0, 0)
    assert fork.diverged_at_step is None
