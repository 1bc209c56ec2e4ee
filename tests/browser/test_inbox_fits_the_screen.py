"""The inbox and an item fit the screens reviewers use: a 1366 px laptop shows the Review button
without scrolling sideways; a 390 px phone shows each item as a card with its risk, due time and
Review button on screen, says who is signed in, and puts the Decide panel before the long diff."""

from __future__ import annotations

from tests.review.fixtures import email_item  # noqa: F401  (fixture)

LONG_TOPIC = "the renewal terms of the supply contract and the overdue invoice reminders " * 3


def _box(locator) -> dict:
    box = locator.bounding_box()
    assert box is not None, "not rendered"
    return box


def test_at_1366_px_the_review_button_is_inside_the_table_without_sideways_scrolling(
    page, login_as, screenshot, reviewer_user, email_item  # noqa: F811
):
    item = email_item(to="procurement.department@a-long-company-name.example", topic=LONG_TOPIC)
    email_item()
    page.set_viewport_size({"width": 1366, "height": 900})
    login_as(page, reviewer_user)
    page.goto("/inbox/")

    wrap = page.locator(".table-wrap")
    assert wrap.evaluate("w => w.scrollWidth <= w.clientWidth"), "the table scrolls sideways"
    review = page.locator(f"tr[data-item='{item.pk}']").get_by_role("button", name="Claim and review")
    assert _box(review)["x"] + _box(review)["width"] <= _box(wrap)["x"] + _box(wrap)["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    screenshot(page, "inbox-1366")


def test_on_a_phone_each_item_is_a_card_with_risk_due_and_review_on_screen(
    page, login_as, screenshot, reviewer_user, email_item  # noqa: F811
):
    item = email_item(topic=LONG_TOPIC)
    page.set_viewport_size({"width": 390, "height": 844})
    login_as(page, reviewer_user)
    page.goto("/inbox/")

    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the page scrolls sideways"
    row = page.locator(f"tr[data-item='{item.pk}']")
    for part in (row.locator(".risk .pill"), row.locator("td.due"), row.get_by_role("button", name="Claim and review")):
        box = _box(part)
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, part
    assert "due in" in row.locator("td.due").inner_text()
    assert page.get_by_test_id("current-user").is_visible()
    assert page.get_by_test_id("current-user").inner_text() == reviewer_user.get_full_name()
    screenshot(page, "inbox-phone")

    row.get_by_role("button", name="Claim and review").click()
    page.wait_for_url(f"**/inbox/{item.pk}/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    decide = _box(page.get_by_role("heading", name="Decide"))
    diff = _box(page.get_by_role("heading", name="What changed in draft (step 1)"))
    proposal = _box(page.get_by_role("heading", name="What the agent proposes"))
    assert proposal["y"] < decide["y"] < diff["y"], "the Decide panel follows the proposal, before the diff"
    screenshot(page, "inbox-item-phone")
