"""On a 390 px phone the run page and a checkpoint page do not scroll sideways: the checkpoint's
diff stacks each change (its values full width under the step they belong to, not squeezed to a few
letters a line), the Diff and Journal cards fit the screen, and the run's status pills and chart
title stay inside their cards."""

from __future__ import annotations

import pytest

from orchestrator.models import Run, RunStatus
from orchestrator.services import run_start
from review.models import ReviewItem
from review.services import DecisionInput, review_decide
from tests.timetravel.conftest import advance

PHONE = 390
LINES = ("el => { const r = document.createRange(); r.selectNodeContents(el);"
         " return new Set([...r.getClientRects()].map(b => Math.round(b.top))).size; }")


@pytest.fixture
def completed_email_run(transactional_db, engineer_user, reviewer_user) -> Run:
    run = advance(run_start(workflow="email_approval", actor=engineer_user,
                             input={"to": "ana@acme.example", "topic": "the renewal terms of the supply contract"}))
    review_decide(item=ReviewItem.objects.get(run=run, status="pending"), actor=reviewer_user,
                  decision=DecisionInput("approve"))
    run = advance(run)
    assert run.status == RunStatus.COMPLETED
    return run


def _box(locator) -> dict[str, float]:
    box = locator.bounding_box()
    assert box is not None, locator
    return {**box, "right": box["x"] + box["width"]}


def _no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE, "the page scrolls sideways"


def test_a_checkpoint_diff_stacks_its_values_on_a_phone(page, login_as, screenshot, engineer_user,
                                                        completed_email_run):
    page.set_viewport_size({"width": PHONE, "height": 844})
    login_as(page, engineer_user)
    page.goto(f"/runs/{completed_email_run.thread_id}/checkpoints/1/")
    rows = page.get_by_test_id("diff-row")
    rows.first.wait_for()
    screenshot(page, "checkpoint-phone")

    _no_sideways_scroll(page)
    for name in ("Diff", "Journal of this node"):
        card = _box(page.locator("section.card").filter(has=page.get_by_role("heading", name=name)))
        assert card["x"] >= 0 and card["right"] <= PHONE, f"the {name} card is wider than the screen"
    diff = _box(page.get_by_test_id("checkpoint-diff"))
    body = rows.filter(has=page.locator("td.path", has_text="body"))
    after = body.locator("td.value[data-label='step 1']")
    assert _box(after)["width"] >= 0.9 * diff["width"], "the value is squeezed into a narrow column"
    assert after.evaluate("td => getComputedStyle(td, '::before').content") == '"step 1"', \
        "the value says which step it belongs to"
    # Broken at words, a few lines deep, not one letter a line: about 35 characters a line here.
    text = after.locator("code").inner_text()
    assert after.locator("code").evaluate(LINES) < len(text) / 25
    for cell in rows.locator("td.path").all():
        assert cell.evaluate(LINES) == 1, f"{cell.inner_text()!r} is split over lines"


def test_the_run_page_keeps_its_pills_and_chart_title_on_a_phone(page, login_as, screenshot, engineer_user,
                                                                 completed_email_run):
    page.set_viewport_size({"width": PHONE, "height": 844})
    login_as(page, engineer_user)
    page.goto(f"/runs/{completed_email_run.thread_id}/")
    page.get_by_test_id("run-status").wait_for()
    screenshot(page, "run-page-phone")

    _no_sideways_scroll(page)
    header = _box(page.get_by_test_id("run-header"))
    for pill in page.locator(".run-status .pill").all():
        assert _box(pill)["right"] <= header["right"], f"{pill.inner_text()!r} sticks out of the header"
    title = page.get_by_role("heading", name="Node durations")
    card = _box(page.locator("section.card").filter(has=title))
    assert _box(title)["right"] <= card["right"] and card["right"] <= PHONE, "the chart's title is cut off"
