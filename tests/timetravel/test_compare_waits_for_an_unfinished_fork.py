"""The compare page does not call the steps a fork has not reached yet differences: a fork waiting at
a gate is "not compared past its step N yet"; once it has ended short, the missing steps count."""

from __future__ import annotations

import re

from orchestrator.forks import run_fork
from orchestrator.models import Run, RunStatus
from orchestrator.services import run_start
from review.models import ReviewItem
from review.services import DecisionInput, review_decide


def _decide(run: Run, actor, decision: str, advance_run) -> Run:
    review_decide(item=ReviewItem.objects.get(run=run, status="pending"), actor=actor,
                  decision=DecisionInput(decision, reason="not now" if decision == "reject" else ""))
    return advance_run(run)


def _text(html: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}">(.*?)</', html, re.S)
    assert match, testid
    return re.sub(r"\s+", " ", match.group(1)).strip()


def test_a_fork_waiting_at_a_gate_is_compared_only_as_far_as_it_ran(client_for, engineer_user, reviewer_user,
                                                                     transactional_db, advance_run):
    parent = advance_run(run_start(workflow="email_approval", input={"to": "ana@acme.example", "topic": "renewal"}))
    parent = _decide(parent, reviewer_user, "approve", advance_run)
    assert parent.status == RunStatus.COMPLETED
    fork = advance_run(run_fork(run=parent, at_step=1, actor=engineer_user))
    assert (fork.status, fork.next_node, fork.step) == (RunStatus.SUSPENDED, "review", 1)
    client = client_for(engineer_user)

    html = client.get(f"/runs/{fork.thread_id}/compare/").content.decode()
    assert _text(html, "first-output-divergence") == "none so far"
    assert _text(html, "output-divergence-note") == "fork suspended at review; not compared past its step 1 yet"
    assert html.count("not run in the fork yet") == 2 and "only in original" not in html
    assert "same output" in html  # the gate both reached

    # Rejected at that gate, the fork has ended short of the original: now the steps it lacks count.
    fork = _decide(fork, reviewer_user, "reject", advance_run)
    assert fork.status == RunStatus.REJECTED
    html = client.get(f"/runs/{fork.thread_id}/compare/").content.decode()
    assert _text(html, "first-output-divergence") == "review"
    assert "only in original" in html and "not run in the fork yet" not in html
