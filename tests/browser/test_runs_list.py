"""In a real browser: the runs list filters by day, keeps a filter that does not parse in its box
with the error beside it (and lists nothing under it), and refreshes its rows while a listed run
may still change, a suspended one included."""

from __future__ import annotations

import re
from datetime import datetime

from playwright.sync_api import expect

from orchestrator.executor import run_advance
from orchestrator.models import Run, RunStatus
from orchestrator.services import run_start
from review.models import ReviewItem
from review.services import DecisionInput, review_decide


def _run_created(stamp: str) -> Run:
    run = run_start(workflow="email_approval", input={"to": "a@b.co", "topic": stamp})
    Run.objects.filter(pk=run.pk).update(created_at=datetime.fromisoformat(stamp))
    return run


def test_an_engineer_filters_runs_by_day_and_sees_a_bad_cost_explained(page, login_as, screenshot, engineer_user):
    _run_created("2026-10-31T12:00:00+00:00")
    inside = _run_created("2026-11-01T09:00:00+00:00")
    _run_created("2026-11-03T12:00:00+00:00")
    login_as(page, engineer_user)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/runs/")
    expect(page.get_by_test_id("run-row")).to_have_count(3)

    page.get_by_label("From").fill("2026-11-01")
    page.get_by_label("To").fill("2026-11-02")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_test_id("run-row")).to_have_count(1)
    expect(page.get_by_test_id("run-row")).to_contain_text(inside.thread_id)
    screenshot(page, "runs-list-from-to")

    page.get_by_label("Cost ≥ $").fill("0,05")
    page.get_by_label("Label").fill("department")
    page.get_by_role("button", name="Filter").click()
    cost = page.get_by_label("Cost ≥ $")
    expect(cost).to_have_value("0,05")
    expect(page.get_by_label("From")).to_have_value("2026-11-01")
    expect(page.locator("label", has=cost).locator(".field-error")).to_have_text("use a number like 0.05")
    expect(page.get_by_test_id("filter-error")).to_be_visible()
    expect(page.get_by_test_id("run-row")).to_have_count(0)
    expect(page.get_by_label("Label")).to_have_value("department")
    # Each error hangs below its own box: the boxes of the row stay level.
    boxes = [page.get_by_label(name).bounding_box()["y"] for name in ("Thread id", "Workflow", "Label", "From")]
    assert max(boxes) - min(boxes) < 2, boxes
    screenshot(page, "runs-list-bad-cost")


def test_the_runs_list_follows_a_suspended_run_until_it_ends(page, login_as, screenshot, engineer_user,
                                                              reviewer_user):
    run = run_start(workflow="email_approval", input={"to": "a@b.co", "topic": "renewal"})
    while run_advance(run.pk, worker="test") == RunStatus.QUEUED:
        pass
    login_as(page, engineer_user)
    page.goto("/runs/")
    row = page.get_by_test_id("run-row").filter(has_text=run.thread_id)
    expect(row.locator(".pill").first).to_have_text("Suspended")

    review_decide(item=ReviewItem.objects.get(run=run, status="pending"), actor=reviewer_user,
                  decision=DecisionInput("approve"))
    while run_advance(run.pk, worker="test") == RunStatus.QUEUED:
        pass
    expect(row.locator(".pill").first).to_have_text("Completed", timeout=15_000)
    expect(row.locator("td.num").first).to_have_text("4")  # steps
    # Every listed run has ended: the rows stop refreshing.
    expect(page.locator("#runs-rows")).not_to_have_attribute("hx-trigger", re.compile("."))
    screenshot(page, "runs-list-after-approval")
