"""interrupt_after and interrupt_before gates; a fork taken at a decision keeps the approval."""

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


def test_a_fork_from_a_decision_runs_the_approved_node_without_asking_again(db, test_graphs, make_user):
    rita = make_user("rita", "reviewer")
    run = run_start(workflow="static_gates")
    run_advance(run.pk, worker="t")
    _decide(run, rita, DecisionInput("approve"))
    run_advance(run.pk, worker="t")
    _decide(run, rita, DecisionInput("approve"))
    run_advance(run.pk, worker="t")
    decision_step = Checkpoint.objects.get(run=run, source="decision", node="transfer").step
    fork = run_fork(run=Run.objects.get(pk=run.pk), at_step=decision_step, edits={"n": 40}, mode="live",
                    actor=rita)
    assert run_advance(fork.pk, worker="t") == "completed"
    fork.refresh_from_db()
    assert state_at(fork.pk, fork.step)["n"] == 41
    assert not ReviewItem.objects.filter(run=fork).exists()
