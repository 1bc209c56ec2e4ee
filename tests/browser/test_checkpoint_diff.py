"""In a real browser at 1366x900: the checkpoint diff keeps every key path on one line (long values
wrap instead), so "subject" never reads "subjec t"."""

from __future__ import annotations

from orchestrator.executor import run_advance
from orchestrator.models import RunStatus
from orchestrator.services import run_start

LINES = "el => { const r = document.createRange(); r.selectNodeContents(el); return new Set([...r.getClientRects()].map(b => Math.round(b.top))).size; }"


def test_key_paths_are_never_split_mid_word(page, login_as, screenshot, engineer_user):
    run = run_start(workflow="email_approval", input={"to": "ana@acme.example", "topic": "the renewal terms " * 3})
    while run_advance(run.pk, worker="test") == RunStatus.QUEUED:
        pass
    login_as(page, engineer_user)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"/runs/{run.thread_id}/checkpoints/1/")

    rows = page.get_by_test_id("diff-row")
    rows.first.wait_for()
    paths = rows.locator("td.path")
    assert sorted(paths.all_inner_texts()) == ["body", "log[0]", "subject"]
    for cell in paths.all():
        assert cell.evaluate(LINES) == 1, f"{cell.inner_text()!r} is split over lines"
    # The long body still wraps inside its cell rather than widening the table past its card.
    assert rows.filter(has=page.locator("td.path", has_text="body")).locator("td.value").last.evaluate(LINES) > 1
    screenshot(page, "checkpoint-diff")
