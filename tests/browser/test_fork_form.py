"""In a real browser: the fork form shows a multi-line email body whole, with its line breaks, and a
list that is not valid JSON is explained as a list."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from orchestrator.executor import run_advance
from orchestrator.models import Run, RunStatus
from orchestrator.services import run_start


def test_the_fork_form_reads_like_the_state(page, login_as, screenshot, engineer_user):
    run = run_start(workflow="email_approval", input={"to": "ana@acme.example", "topic": "renewal"})
    while run_advance(run.pk, worker="test") == RunStatus.QUEUED:
        pass
    login_as(page, engineer_user)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"/runs/{run.thread_id}/checkpoints/1/fork/")

    body = page.get_by_role("textbox", name="body text")
    expect(body).to_have_value(re.compile(r'^"Dear .*\n\n.*\n\n[^\n]+\nThe Gatehouse demo model"$', re.S))
    # Every line shows without scrolling the box.
    assert body.evaluate("el => el.scrollHeight <= el.clientHeight + 1")
    expect(page.get_by_text("GateDecision object or null")).to_be_visible()
    screenshot(page, "fork-form")

    page.get_by_role("textbox", name="log list of text").fill("[1,")
    page.get_by_test_id("fork-submit").click()
    error = page.get_by_test_id("field-error")
    expect(error).to_contain_text("log: not valid JSON")
    expect(error).to_contain_text("a list needs square brackets and commas between items")
    expect(error).not_to_contain_text("double quotes, e.g. \"hello\"")
    expect(page.get_by_role("textbox", name="log list of text")).to_have_value("[1,")
    assert not Run.objects.filter(parent=run).exists()
    screenshot(page, "fork-form-invalid-list")
