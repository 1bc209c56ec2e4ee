"""On a 390 px phone the comparison of a fork with its original shows, node by node, the LLM calls,
the token and cost differences and whether the output differs, without scrolling sideways: each row
is a card of labelled lines, not a seven-column table whose answer columns start past the screen."""

from __future__ import annotations

from orchestrator.forks import run_fork
from orchestrator.models import RunStatus
from orchestrator.services import run_start
from tests.timetravel.conftest import advance

PHONE = 390


def _right(locator) -> float:
    box = locator.bounding_box()
    assert box is not None, f"{locator} is not rendered"
    return box["x"] + box["width"]


def test_each_compared_node_is_on_screen_on_a_phone(page, login_as, screenshot, engineer_user):
    parent = advance(run_start(workflow="document_pipeline", input={"pages": 3}, actor=engineer_user))
    assert parent.status == RunStatus.COMPLETED, parent.error
    fork = advance(run_fork(run=parent, at_step=3, actor=engineer_user))
    page.set_viewport_size({"width": PHONE, "height": 844})
    login_as(page, engineer_user)
    page.goto(f"/runs/{fork.thread_id}/compare/")
    rows = page.get_by_test_id("compare-row")
    rows.first.wait_for()
    wrap = page.locator(".table-wrap").filter(has=page.get_by_test_id("compare-table"))
    wrap.scroll_into_view_if_needed()
    screenshot(page, "compare-phone")

    assert wrap.evaluate("el => el.scrollWidth <= el.clientWidth"), "the comparison scrolls sideways"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE, "the page scrolls sideways"
    for row in rows.all():
        for label in ("LLM calls", "Tokens Δ", "Cost Δ", "Output diff"):
            cell = row.locator(f"td[data-label='{label}']")
            assert _right(cell) <= PHONE, f"{label} is past the screen's edge"
            # The header row is out of sight on a phone: each value names its column.
            assert cell.evaluate("el => getComputedStyle(el, '::before').content") == f'"{label}"'
