"""One item whose text has no break point (a 135-character address, a label value of 120 x's) must
not widen the inbox or the runs list past a 1366 px laptop screen: the text wraps inside its cell,
and every row keeps its columns, its Review button included, on screen."""

from __future__ import annotations

from orchestrator.services import run_start
from tests.review.fixtures import email_item  # noqa: F401  (fixture)

LONG_ADDRESS = "verylongaddress_" + "x" * 105 + "@acme.example"
LONG_VALUE = "x" * 120


def _right(locator) -> float:
    box = locator.bounding_box()
    assert box is not None, f"{locator} is not rendered"
    return box["x"] + box["width"]


def _lines(locator) -> int:
    """How many lines the cell's text takes (a word broken in two takes two)."""
    return locator.evaluate("td => { const r = document.createRange(); r.selectNodeContents(td);"
                            " return new Set([...r.getClientRects()].map(b => Math.round(b.top))).size; }")


def _fits(page) -> None:
    wrap = page.locator(".table-wrap")
    assert wrap.evaluate("w => w.scrollWidth <= w.clientWidth"), "the table scrolls sideways"
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366, "the page scrolls sideways"


def test_a_long_address_wraps_and_every_review_button_stays_on_screen(
    page, login_as, screenshot, reviewer_user, email_item  # noqa: F811
):
    assert len(LONG_ADDRESS) == 134
    long_one = email_item(to=LONG_ADDRESS, topic="A" * 80)
    plain = email_item()
    page.set_viewport_size({"width": 1366, "height": 900})
    login_as(page, reviewer_user)
    page.goto("/inbox/")

    _fits(page)
    table_right = _right(page.locator(".table-wrap"))
    for item in (long_one, plain):
        row = page.locator(f"tr[data-item='{item.pk}']")
        assert _right(row.get_by_role("button", name="Claim and review")) <= min(table_right, 1366)
    assert LONG_ADDRESS in page.locator(f"tr[data-item='{long_one.pk}'] .summary").inner_text(), "shown whole"
    # Only the proposal wraps: the short columns keep their words whole.
    assert page.locator(f"tr[data-item='{plain.pk}'] td.workflow").inner_text() == "email_approval"
    for cell in ("td.workflow", "td.meta:not(.workflow):not(.risk)"):
        assert _lines(page.locator(f"tr[data-item='{plain.pk}'] {cell}").first) == 1, f"{cell} is broken mid-word"
    screenshot(page, "inbox-long-address-1366")


def test_a_long_label_value_wraps_and_the_labels_column_stays_on_screen(
    page, login_as, screenshot, engineer_user
):
    run_start(workflow="email_approval", input={"to": LONG_ADDRESS, "topic": "renewal"},
              labels={"customer": "acme", "department": LONG_VALUE})
    run_start(workflow="email_approval", input={"to": "a@b.co", "topic": "renewal"}, labels={"customer": "globex"})
    page.set_viewport_size({"width": 1366, "height": 900})
    login_as(page, engineer_user)
    page.goto("/runs/")

    _fits(page)
    table_right = _right(page.locator(".table-wrap"))
    for label in page.locator(".runs-table .pill.label").all():
        assert _right(label) <= table_right, f"{label.inner_text()[:40]} sticks out of the table"
    long_pill = page.locator(".runs-table .pill.label", has_text="department=")
    assert long_pill.inner_text().replace("\n", "") == f"department={LONG_VALUE}", "shown whole"
    screenshot(page, "runs-long-label-1366")
