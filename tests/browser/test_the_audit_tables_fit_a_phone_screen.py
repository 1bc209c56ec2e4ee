"""On a 390 px phone the ledger's entries and the decision log show every column without scrolling
sideways: each row becomes a card of labelled lines (as the cost and runs tables do), so the entry's
time and its proof link, or a decision's run and reason, are not past the screen's edge."""

from __future__ import annotations

import pytest

from review.services import DecisionInput, review_decide
from tests.review.fixtures import email_item  # noqa: F401  (fixture)

PHONE = 390


def _right(locator) -> float:
    box = locator.bounding_box()
    assert box is not None, f"{locator} is not rendered"
    return box["x"] + box["width"]


@pytest.fixture
def a_decision(email_item, reviewer_user):  # noqa: F811
    review_decide(item=email_item(), actor=reviewer_user,
                  decision=DecisionInput("reject", reason="The tone is wrong for a first reminder"))


@pytest.mark.parametrize(("path", "table", "labels", "link"), [
    ("/audit/", "[data-testid=ledger-entries]", ("Event", "When (UTC)", "Hash"), "proof"),
    ("/audit/decisions/", "table:has([data-testid=decision-row])", ("When (UTC)", "Run", "Reason or response"), "send_email"),
])
def test_on_a_phone_audit_tables_become_cards_instead_of_scrolling_sideways(
        page, login_as, screenshot, compliance_user, a_decision, path, table, labels, link):
    page.set_viewport_size({"width": PHONE, "height": 844})
    login_as(page, compliance_user)
    page.goto(path)
    rows = page.locator(f"{table} tbody tr")
    rows.first.wait_for()
    wrap = page.locator(".table-wrap").filter(has=page.locator(table))
    wrap.scroll_into_view_if_needed()
    screenshot(page, f"audit-phone-{path.strip('/').replace('/', '-')}")

    assert wrap.evaluate("el => el.scrollWidth <= el.clientWidth"), "the table scrolls sideways"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE, "the page scrolls sideways"
    row = rows.first
    for label in labels:
        cell = row.locator(f"td[data-label='{label}']")
        assert _right(cell) <= PHONE, f"{label} is past the screen's edge"
        # The header row is out of sight on a phone: each value names its column.
        assert cell.evaluate("el => getComputedStyle(el, '::before').content") == f'"{label}"'
    assert _right(row.get_by_role("link", name=link)) <= PHONE, f"the {link} link is past the screen's edge"
