"""An item whose reviewer group nobody with an inbox is in (misspelt in the workflow, or left empty)
waits for an admin: on a phone, the admin's inbox card says so beside the action, and the item page
says it above the decision buttons, with what to do about it."""

from __future__ import annotations

from tests.review.fixtures import payment_item, payment_workflow  # noqa: F401  (fixtures)


def test_an_admin_sees_an_unstaffed_group_in_the_inbox_and_on_the_item(
    page, login_as, screenshot, make_user, payment_item  # noqa: F811
):
    admin = make_user("ada", "admin", first_name="Ada", last_name="Admin")
    item = payment_item(group="reviwer")
    page.set_viewport_size({"width": 390, "height": 844})
    login_as(page, admin)
    page.goto("/inbox/")

    pill = page.locator(f"tr[data-item='{item.pk}']").get_by_test_id("group-unstaffed")
    assert pill.inner_text() == "nobody in “reviwer”"
    box = pill.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the page scrolls sideways"
    screenshot(page, "inbox-unstaffed-phone")

    page.goto(f"/inbox/{item.pk}/")
    alert = page.get_by_test_id("decide-panel").get_by_role("alert")
    assert alert.inner_text().startswith("Nobody but admins can decide this item")
    approve = page.get_by_role("button", name="Approve")
    assert alert.bounding_box()["y"] < approve.bounding_box()["y"]
    screenshot(page, "item-unstaffed-phone")
