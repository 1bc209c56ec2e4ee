"""A suspended run's page says why it waits and links to where it is decided, worded per reason,
with links only to pages the viewer may open (every rendered link is followed here)."""

from __future__ import annotations

import json
import re

import pytest

from orchestrator.models import Run, RunStatus
from orchestrator.services import run_start
from review.models import ItemKind, ReviewItem


def _banner(client, run: Run) -> str:
    html = client.get(f"/runs/{run.thread_id}/").content.decode()
    match = re.search(r'<div class="run-waiting"[^>]*data-testid="waiting-banner">(.*?)</div>', html, re.S)
    assert match, "no waiting banner"
    return re.sub(r"\s+", " ", match.group(1))


def _links(banner: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', banner)


@pytest.fixture
def at_gate(transactional_db, advance_run, engineer_user) -> Run:
    run = advance_run(run_start(workflow="email_approval", input={"to": "ana@acme.example", "topic": "renewal"},
                                actor=engineer_user))
    assert (run.status, run.suspended_reason) == (RunStatus.SUSPENDED, "gate")
    return run


@pytest.mark.parametrize("persona", ["engineer_user", "admin_user"])
def test_a_run_at_a_gate_names_the_node_and_links_its_inbox_item(request, client_for, at_gate, persona):
    client = client_for(request.getfixturevalue(persona))
    item = ReviewItem.objects.get(run=at_gate, status="pending")

    banner = _banner(client, at_gate)
    assert "Waiting for approval of <span class=\"mono\">review</span></strong> by the reviewer group." in banner
    assert f"open item #{item.pk}" in banner
    assert _links(banner) == [f"/inbox/{item.pk}/"]
    assert client.get(_links(banner)[0]).status_code == 200


def test_a_run_stopped_by_the_loop_guard_says_what_tripped_it(client_for, engineer_user, transactional_db,
                                                             advance_run):
    run = advance_run(run_start(workflow="research_agent", input={"question": "why?", "mode": "stuck"}))
    assert run.suspended_reason == "loop_guard"
    item = ReviewItem.objects.get(run=run, status="pending")
    client = client_for(engineer_user)

    banner = _banner(client, run)
    assert "<strong>Loop guard</strong> stopped this run before <code>reflect</code>: the state repeated" in banner
    assert "Approve to let it continue, or reject to end it." in banner
    assert _links(banner) == [f"/inbox/{item.pk}/"] and client.get(_links(banner)[0]).status_code == 200


def test_a_budget_stop_links_its_page_for_admins_only(client_for, admin_user, engineer_user, at_gate):
    # The same run, stopped by a budget instead (what the executor writes when a call would not fit).
    ReviewItem.objects.filter(run=at_gate).delete()
    Run.objects.filter(pk=at_gate.pk).update(suspended_reason="budget_exceeded", next_node="draft")
    item = ReviewItem.objects.create(run=at_gate, step=at_gate.step, node="draft", kind=ItemKind.BUDGET,
                                     workflow=at_gate.workflow, reviewer_group="admin", action="raise_budget",
                                     request=json.dumps({"budget": {"budget": "Legal <monthly>"}}))

    admin = client_for(admin_user)
    banner = _banner(admin, at_gate)
    assert "Stopped by the budget “Legal &lt;monthly&gt;”" in banner  # a budget's name is escaped
    assert "An admin raises the cap to resume the run, or ends it." in banner
    assert _links(banner) == [f"/costs/budgets/stops/{item.pk}/"] and admin.get(_links(banner)[0]).status_code == 200

    engineer = client_for(engineer_user)
    banner = _banner(engineer, at_gate)
    assert "/costs/budgets/stops/" not in banner  # admins only: the link would answer 403
    assert _links(banner) == [f"/inbox/{item.pk}/"] and engineer.get(_links(banner)[0]).status_code == 200


def test_a_run_that_is_not_suspended_has_no_banner(client_for, engineer_user, pipeline_run):
    html = client_for(engineer_user).get(f"/runs/{pipeline_run.thread_id}/").content.decode()
    assert 'data-testid="waiting-banner"' not in html
