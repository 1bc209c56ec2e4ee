"""In Chromium: an engineer retries a failed run with the button under its header and sees it
queued again; on a waiting run, "Cancel run…" opens a reason box, and cancelling shows the run
cancelled with the buttons gone."""

from __future__ import annotations

from playwright.sync_api import expect

from orchestrator.executor import run_advance
from orchestrator.services import run_start


def test_retry_then_cancel_from_the_run_page(page, login_as, screenshot, engineer_user):
    failed = run_start(workflow="document_pipeline", input={"pages": 3, "fail_at": "summarize", "fail_times": 9})
    assert run_advance(failed.pk, worker="test") == "failed"
    login_as(page, engineer_user)
    page.set_viewport_size({"width": 1366, "height": 900})

    page.goto(f"/runs/{failed.thread_id}/")
    screenshot(page, "run-failed-with-retry")
    page.get_by_test_id("retry-run").click()
    expect(page.locator(".messages .success")).to_contain_text("queued again: summarize runs again")
    expect(page.get_by_test_id("retry-run")).to_have_count(0)

    page.get_by_test_id("cancel-run-open").click()
    page.get_by_label("Reason").fill("started by mistake")
    screenshot(page, "run-cancel-open")
    page.get_by_test_id("cancel-run").click()
    expect(page.locator(".messages .success")).to_contain_text(f"Run {failed.thread_id} cancelled")
    expect(page.get_by_test_id("run-status")).to_have_text("Cancelled")
    expect(page.get_by_test_id("run-actions")).to_have_count(0)
