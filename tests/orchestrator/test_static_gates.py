"""interrupt_after and interrupt_before gates; a fork taken at a decision keeps the approval while its
effects are dry runs, and only an admin may fork with real effects (the gate then asks again); a
loop guard's decision never stands in for a gate's reviewers."""

from __future__ import annotations

import pytest

from orchestrator.executor import run_advance
from orchestrator.forks import ForkError, run_fork
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


def test_an_edited_fork_with_dry_run_effects_runs_the_approved_node(db, test_graphs, make_user):
    # Nothing real happens in it, so asking a reviewer again would only fill their inbox.
    rita, eric = make_user("rita", "reviewer"), make_user("eric", "engineer")
    run, decision_step = _approved_run(rita)
    fork = run_fork(run=run, at_step=decision_step, edits={"n": 40}, mode="live", actor=eric)
    assert run_advance(fork.pk, worker="t") == "completed"
    fork.refresh_from_db()
    assert state_at(fork.pk, fork.step)["n"] == 41 and not fork.allow_effects
    assert not ReviewItem.objects.filter(run=fork).exists()


def test_only_an_admin_may_fork_with_real_effects_and_the_gate_then_asks_again(db, test_graphs, make_user):
    # A fork starts past the gates its checkpoint follows: acting for real would skip their
    # reviewers, so it takes an admin; and one approval is one action, so the gate asks again.
    rita, eric, ada = make_user("rita", "reviewer"), make_user("eric", "engineer"), make_user("ada", "admin")
    run, decision_step = _approved_run(rita)
    with pytest.raises(ForkError, match="only admins may fork with side effects performed for real"):
        run_fork(run=run, at_step=decision_step, edits={"n": 40}, allow_effects=True, actor=eric)
    assert not Run.objects.filter(parent=run).exists()

    fork = run_fork(run=run, at_step=decision_step, edits={"n": 40}, allow_effects=True, actor=ada)
    assert run_advance(fork.pk, worker="t") == "suspended"
    item = ReviewItem.objects.get(run=fork, status="pending")
    assert item.node == "transfer" and '"n":40' in item.request
    _decide(fork, rita, DecisionInput("approve"))
    assert run_advance(fork.pk, worker="t") == "completed"
    fork.refresh_from_db()
    assert state_at(fork.pk, fork.step)["n"] == 41


def test_approving_a_loop_guard_does_not_approve_the_gated_node_behind_it(db, test_graphs, settings, make_user):
    settings.GATEHOUSE_STEP_CAP = 1
    rita, eve = make_user("rita", "reviewer"), make_user("eve", "engineer")
    run = run_start(workflow="static_gates")
    assert run_advance(run.pk, worker="t") == "suspended"  # after "prepare"
    _decide(run, rita, DecisionInput("approve"))
    assert run_advance(run.pk, worker="t") == "suspended"
    guard = ReviewItem.objects.get(run=run, status="pending")
    assert guard.kind == "loop_guard" and guard.node == "transfer"
    _decide(run, eve, DecisionInput("approve"))  # the engineer lets the run go on counting steps

    assert run_advance(run.pk, worker="t") == "suspended", "transfer's own gate still asks"
    gate = ReviewItem.objects.get(run=run, status="pending")
    assert gate.kind == "gate" and gate.node == "transfer"
    assert not Checkpoint.objects.filter(run=run, source="node", node="transfer").exists()


def test_a_gate_after_a_node_asks_even_when_its_lap_repeats_the_state(db, test_graphs, make_user):
    rita = make_user("rita", "reviewer")
    run = run_start(workflow="gated_loop")
    for _lap in range(3):
        assert run_advance(run.pk, worker="t") == "suspended"
        item = ReviewItem.objects.get(run=run, status="pending")
        assert item.kind == "gate" and item.node == "check", "the reviewers are asked, not the loop guard's group"
        _decide(run, rita, DecisionInput("approve"))


def test_a_gate_with_no_respond_route_does_not_offer_respond_and_refuses_it(db, test_graphs, make_user):
    import json

    from review.services import DecisionError

    run = run_start(workflow="static_gates")
    run_advance(run.pk, worker="t")
    item = ReviewItem.objects.get(run=run, status="pending")
    assert "respond" not in json.loads(item.request)["allowed"], "the inbox shows no Respond button"
    # An item made before that rule still cannot be answered into carrying out the action.
    ReviewItem.objects.filter(pk=item.pk).update(request=item.request.replace('"approve"', '"respond","approve"'))
    with pytest.raises(DecisionError, match="nowhere to send a response"):
        _decide(run, make_user("rita", "reviewer"), DecisionInput("respond", response="sure, go"))
    run.refresh_from_db()
    assert run.status == "suspended" and ReviewItem.objects.get(pk=item.pk).status == "pending"


def test_a_gate_with_a_respond_route_still_offers_respond(db, make_user):
    import json

    run = run_start(workflow="email_approval", input={"to": "a@b.co", "topic": "x"})
    assert run_advance(run.pk, worker="t") == "suspended"
    assert "respond" in json.loads(ReviewItem.objects.get(run=run, status="pending").request)["allowed"]


def test_approving_a_nodes_after_gate_does_not_approve_its_next_run(db, test_graphs, make_user):
    rita = make_user("rita", "reviewer")
    run = run_start(workflow="gated_both_ways")
    asked = []
    for _ in range(4):  # before lap 1, after lap 1, before lap 2, after lap 2
        assert run_advance(run.pk, worker="t") == "suspended"
        item = ReviewItem.objects.get(run=run, status="pending")
        asked.append((item.node, Checkpoint.objects.filter(run=run, source="node").count()))
        _decide(run, rita, DecisionInput("approve"))
    assert Run.objects.get(pk=run.pk).status == "completed", "the last approval completes the run"
    assert asked == [("t", 0), ("t", 1), ("t", 1), ("t", 2)], "lap 2 is asked before it runs, after lap 1's approval"


@pytest.mark.parametrize(("decision", "ends"), [(DecisionInput("approve"), "completed"),
                                               (DecisionInput("reject", reason="wrong figures"), "rejected")])
def test_a_gate_after_the_last_node_asks_before_the_run_completes(db, test_graphs, make_user, decision, ends):
    run = run_start(workflow="last_node_gated")
    assert run_advance(run.pk, worker="t") == "suspended", "the last node's output is reviewed"
    _decide(run, make_user("rita", "reviewer"), decision)
    run.refresh_from_db()
    assert run.status == ends
