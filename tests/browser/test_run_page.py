"""In a real browser at a laptop's 1366x900: the run page shows every timeline column (also on a
fork, whose first row names its long parent thread id), and a page opened while the run waits for a
reviewer follows the decision someone else makes."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from orchestrator.forks import run_fork
from orchestrator.models import Run, RunStatus
from orchestrator.services import run_start
from review.models import ReviewItem
from review.services import DecisionInput, review_decide
from tests.timetravel.conftest import advance


def _suspended_at_review(actor) -> Run:
    run = advance(run_start(workflow="email_approval", input={"to": "ana@acme.example", "topic": "renewal"},
                             actor=actor))
    assert (run.status, run.next_node) == (RunStatus.SUSPENDED, "review")
    return run


def _approve(run: Run, reviewer) -> None:
    review_decide(item=ReviewItem.objects.get(run=run, status="pending"), actor=reviewer,
                  decision=DecisionInput("approve"))


@pytest.fixture
def laptop(page):
    page.set_viewport_size({"width": 1366, "height": 900})
    return page


def _inside(locator, container) -> bool:
    box, outer = locator.bounding_box(), container.bounding_box()
    return box["x"] >= outer["x"] and box["x"] + box["width"] <= outer["x"] + outer["width"] + 0.5


def test_every_timeline_column_shows_on_a_fork_at_1366(laptop, login_as, screenshot, engineer_user, reviewer_user):
    parent = _suspended_at_review(engineer_user)
    _approve(parent, reviewer_user)
    parent = advance(parent)
    fork = advance(run_fork(run=parent, at_step=1, actor=engineer_user))
    login_as(laptop, engineer_user)

    for run, rows in ((parent, 5), (fork, 2)):
        laptop.goto(f"/runs/{run.thread_id}/")
        expect(laptop.get_by_test_id("timeline-row")).to_have_count(rows)
        table = laptop.locator(".timeline-col .table-wrap")
        for link in laptop.get_by_role("link", name="fork", exact=True).all():
            assert _inside(link, table), f"{run.thread_id}: a fork link is cut off"
        assert _inside(laptop.get_by_role("columnheader", name="Gate / decision"), table)
    fork_row = laptop.locator('[data-step="0"]')
    expect(fork_row).to_contain_text(f"fork of {parent.thread_id} @ 1")
    assert _inside(fork_row.get_by_text("forked by"), laptop.locator(".timeline-col .table-wrap"))
    screenshot(laptop, "run-page-fork-timeline")


def test_a_suspended_run_page_follows_a_reviewers_decision(laptop, login_as, screenshot, engineer_user,
                                                            reviewer_user):
    run = _suspended_at_review(engineer_user)
    login_as(laptop, engineer_user)
    laptop.goto(f"/runs/{run.thread_id}/")
    expect(laptop.get_by_test_id("run-status")).to_have_text("Suspended")
    expect(laptop.get_by_test_id("timeline-row")).to_have_count(3)

    # Someone else decides in the inbox; the page was opened before and is not touched.
    _approve(run, reviewer_user)
    advance(run)
    expect(laptop.get_by_test_id("run-status")).to_have_text("Completed", timeout=15_000)
    expect(laptop.get_by_test_id("timeline-row")).to_have_count(5)  # the page reloaded: decision, send
    # Nothing more can change: the page stops asking.
    expect(laptop.get_by_test_id("run-header")).not_to_have_attribute("hx-trigger", re.compile("."))
    screenshot(laptop, "run-page-after-someone-approved")
