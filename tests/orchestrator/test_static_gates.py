"""interrupt_after and interrupt_before gates; a fork taken at a decision keeps the approval only
while it cannot act differently from what was approved."""

from __future__ import annotations

from orchestrator.executor import run_advance
from orchestrator.forks import run_fork
from orchestrator.history import state_at
from orchestrator.models import Checkpoint, Run
from orchestrator.services import run_start
from review.models import ReviewItem
from review.services import DecisionInput, review_decide


def _decide(run: Run, user, decision: DecisionInput) -> None:
    review_decide(item=ReviewItem.objects.get(run=run, status="pending"), actor=user, decision=decision)


def test_gates_after_and_before_nodes_suspend_and_resume_in_order(db, test_graphs, make_user):
    rita = make_user("rita", "reviewer")
    run = run_start(workflow="static_gates")
    assert run_advance(run.pk, worker="t") == "suspended"  # after "prepare" ran
    assert ReviewItem.objects.get(run=run).node == "prepare"
    _decide(run, rita, DecisionInput("edit", edits={"n": 5}))
    assert run_advance(run.pk, worker="t") == "suspended"  # before "transfer" runs
    item = ReviewItem.objects.get(run=run, status="pending")
    assert item.node == "transfer" and '"n":5' in item.request
    _decide(run, rita, DecisionInput("approve"))
    assert run_advance(run.pk, worker="t") == "completed"
    run.refresh_from_db()
    assert state_at(run.pk, run.step)["n"] == 6  # the edited 5, then transfer's +1
    sources = list(Checkpoint.objects.filter(run=run).order_by("step").values_list("source", "node"))
    assert sources == [("input", ""), ("node", "prepare"), ("decision", "prepare"), ("gate", "transfer"),
                       ("decision", "transfer"), ("node", "transfer")]


def _approved_run(user) -> tuple[Run, int]:
    """A static_gates run whose "transfer" a reviewer approved; and the step of that decision."""
    run = run_start(workflow="static_gates")
    run_advance(run.pk, worker="t")
    _decide(run, user, DecisionInput("approve"))
    run_advance(run.pk, worker="t")
    _decide(run, user, DecisionInput("approve"))
    run_advance(run.pk, worker="t")
    return Run.objects.get(pk=run.pk), Checkpoint.objects.get(run=run, source="decision", node="transfer").step


def test_a_fork_from_a_decision_runs_the_approved_node_without_asking_again(db, test_graphs, make_user):
    rita = make_user("rita", "reviewer")
    run, decision_step = _approved_run(rita)
    fork = run_fork(run=run, at_step=decision_step, mode="live", actor=rita)
    assert run_advance(fork.pk, worker="t") == "completed"
    fork.refresh_from_db()
    assert state_at(fork.pk, fork.step)["n"] == state_at(run.pk, run.step)["n"]
    assert not ReviewItem.objects.filter(run=fork).exists()


def test_a_fork_that_edits_the_approved_state_asks_the_gate_again(db, test_graphs, make_user):
    # The reviewer approved a transfer of the state they saw; an engineer's edit is a different
    # transfer and needs its own decision.
    rita, eric = make_user("rita", "reviewer"), make_user("eric", "engineer")
    run, decision_step = _approved_run(rita)
    fork = run_fork(run=run, at_step=decision_step, edits={"n": 40}, mode="live", actor=eric)
    assert run_advance(fork.pk, worker="t") == "suspended"
    item = ReviewItem.objects.get(run=fork, status="pending")
    assert item.node == "transfer" and '"n":40' in item.request
    _decide(fork, rita, DecisionInput("approve"))
    assert run_advance(fork.pk, worker="t") == "completed"
    fork.refresh_from_db()
    assert state_at(fork.pk, fork.step)["n"] == 41


def test_a_fork_allowed_real_effects_asks_the_gate_again(db, test_graphs, make_user):
    # One approval, one action: a fork that would act for real again needs its own decision.
    rita = make_user("rita", "reviewer")
    run, decision_step = _approved_run(rita)
    fork = run_fork(run=run, at_step=decision_step, mode="recorded", allow_effects=True, actor=rita)
    assert run_advance(fork.pk, worker="t") == "suspended"
    assert ReviewItem.objects.get(run=fork, status="pending").node == "transfer"
