"""On a review item, the "What changed" table divides its rows across the whole row: the field's
cell (a row header) has the same bottom border as the Before and After cells, also on the last row
(where only the field's cell kept a line before)."""

from __future__ import annotations

from tests.review.fixtures import email_item  # noqa: F401  (fixture)

BORDERS = "tr => [...tr.cells].map(c => getComputedStyle(c).borderBottomWidth)"


def test_each_row_has_one_divider_across_all_its_cells(page, login_as, screenshot, reviewer_user,
                                                       email_item):  # noqa: F811
    item = email_item()
    login_as(page, reviewer_user)
    page.goto(f"/inbox/{item.pk}/")
    table = page.locator("section.card", has=page.get_by_role("heading", name="What changed")).locator("table")
    rows = table.locator("tbody tr")
    assert rows.count() >= 2
    for i in range(rows.count()):
        widths = rows.nth(i).evaluate(BORDERS)
        assert len(set(widths)) == 1, f"row {i}: borders {widths} differ between its cells"
    assert set(rows.last.evaluate(BORDERS)) == {"0px"}, "the card's edge closes the last row"
    screenshot(page, "what-changed")
