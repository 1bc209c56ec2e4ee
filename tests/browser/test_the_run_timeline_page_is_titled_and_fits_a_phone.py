"""The run timeline page (/runs/<id>/timeline/) had no heading: a reader landing on it from a link
saw a bare table and could not tell which run or workflow it was. It now names both, with a link
back to the run. On a 390 px phone its table (and the run page's, the same fragment) scrolled
sideways, the time, duration, cost and decision past the screen's edge; each checkpoint is now a
card of labelled lines, as the runs list, the ledger and the decision log are."""

from __future__ import annotations

import pytest

from orchestrator.models import Run
from orchestrator.services import run_start
from review.models import ReviewItem
from review.services import DecisionInput, review_decide
from tests.timetravel.conftest import advance

PHONE = 390


@pytest.fixture
def rejected_run(transactional_db, engineer_user, reviewer_user) -> Run:
    run = advance(run_start(workflow="email_approval", actor=engineer_user,
                             input={"to": "ana@acme.example", "topic": "the renewal terms"}))
    review_decide(item=ReviewItem.objects.get(run=run, status="pending"), actor=reviewer_user,
                  decision=DecisionInput("reject", reason="The tone is wrong for a first reminder"))
    return advance(run)


def _right(locator) -> float:
    box = locator.bounding_box()
    assert box is not None, f"{locator} is not rendered"
    return box["x"] + box["width"]


def test_the_timeline_page_names_its_run_and_links_back_to_it(page, login_as, screenshot, engineer_user,
                                                               rejected_run):
    login_as(page, engineer_user)
    page.goto(f"/runs/{rejected_run.thread_id}/timeline/")
    heading = page.get_by_role("heading", level=1)
    screenshot(page, "run-timeline-1280")
    assert rejected_run.thread_id in heading.inner_text()
    assert "email_approval" in page.locator(".page-header").inner_text()

    page.get_by_role("button", name="Back to the run").click()  # a link drawn as a button, as on every page header
    page.wait_for_url(f"**/runs/{rejected_run.thread_id}/")


@pytest.mark.parametrize("path", ["/runs/{}/timeline/", "/runs/{}/"])
def test_on_a_phone_each_checkpoint_is_a_card_instead_of_a_row_scrolling_sideways(
        page, login_as, screenshot, engineer_user, rejected_run, path):
    page.set_viewport_size({"width": PHONE, "height": 844})
    login_as(page, engineer_user)
    page.goto(path.format(rejected_run.thread_id))
    table = page.get_by_test_id("timeline")
    rows = table.get_by_test_id("timeline-row")
    rows.first.wait_for()
    table.scroll_into_view_if_needed()
    screenshot(page, f"run-timeline-phone-{'timeline' if 'timeline' in path else 'run'}")

    wrap = page.locator(".table-wrap").filter(has=table)
    assert wrap.evaluate("el => el.scrollWidth <= el.clientWidth"), "the timeline scrolls sideways"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE, "the page scrolls sideways"
    decision = rows.filter(has=page.locator("td", has_text="reject"))
    for label in ("Time (UTC)", "Duration", "Cost", "Gate / decision"):
        cell = decision.locator(f"td[data-label='{label}']")
        assert _right(cell) <= PHONE, f"{label} is past the screen's edge"
        # The header row is out of sight on a phone: each value names its column.
        assert cell.evaluate("el => getComputedStyle(el, '::before').content") == f'"{label}"'
    assert _right(decision.get_by_role("link", name="fork")) <= PHONE, "the fork link is past the screen's edge"
