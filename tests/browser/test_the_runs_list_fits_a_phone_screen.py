"""On a 390 px phone the runs list shows each run's status, cost and start without scrolling sideways:
each run becomes a card of labelled lines (as the cost tables do), not an eight-column table whose
status column starts past the screen's edge."""

from __future__ import annotations

from orchestrator.services import run_start

PHONE = 390


def _right(locator) -> float:
    box = locator.bounding_box()
    assert box is not None, f"{locator} is not rendered"
    return box["x"] + box["width"]


def test_each_run_s_status_and_cost_are_on_screen_on_a_phone(page, login_as, screenshot, engineer_user):
    run_start(workflow="email_approval", input={"to": "a@b.co", "topic": "renewal"},
              labels={"customer": "acme", "department": "legal"})
    run_start(workflow="research_agent", input={"question": "q"}, labels={"department": "research"})
    page.set_viewport_size({"width": PHONE, "height": 844})
    login_as(page, engineer_user)
    page.goto("/runs/")
    rows = page.get_by_test_id("run-row")
    rows.first.wait_for()
    screenshot(page, "runs-phone")

    wrap = page.locator(".table-wrap").filter(has=page.locator("table.runs-table"))
    assert wrap.evaluate("el => el.scrollWidth <= el.clientWidth"), "the runs table scrolls sideways"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE, "the page scrolls sideways"
    for row in rows.all():
        for label in ("Status", "Cost", "Started (UTC)"):
            cell = row.locator(f"td[data-label='{label}']")
            assert _right(cell) <= PHONE, f"{label} is past the screen's edge"
            # The header row is out of sight on a phone: each value names its column.
            assert cell.evaluate("el => getComputedStyle(el, '::before').content") == f'"{label}"'
        assert _right(row.locator(".pill").first) <= PHONE
