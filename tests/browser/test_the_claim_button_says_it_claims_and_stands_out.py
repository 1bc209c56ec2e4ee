"""The inbox's claim button read "Review" in small print at the far end of each row: a reviewer could
miss it, and could not tell that pressing it claims the item for them. It now says "Claim and review"
(or "Continue review" on an item they hold), at the size of a primary button, and comes right after the
item's title when tabbing. On the item page the claim was a small "Claim it so others know" outline
button; it is a full-width "Claim this item" button, first in the Decide panel."""

from __future__ import annotations

import pytest

from tests.review.fixtures import email_item  # noqa: F401  (fixture)

PHONE = 390


def _focused(page) -> str:
    return page.evaluate("document.activeElement.textContent.trim()")


@pytest.mark.parametrize("width", [1280, PHONE])
def test_the_inbox_button_says_it_claims_stands_out_and_follows_the_title(page, login_as, screenshot,
                                                                          reviewer_user, email_item, width):  # noqa: F811
    item = email_item()
    page.set_viewport_size({"width": width, "height": 900})
    login_as(page, reviewer_user)
    page.goto("/inbox/")
    row = page.locator(f"tr[data-item='{item.pk}']")
    claim = row.get_by_role("button", name="Claim and review")
    screenshot(page, f"inbox-claim-button-{width}")

    assert claim.evaluate("b => getComputedStyle(b).backgroundColor") == \
        page.locator("button[type=submit]", has_text="Apply").evaluate("b => getComputedStyle(b).backgroundColor"), \
        "the claim button is filled in the primary colour, as the page's other primary buttons"
    assert claim.evaluate("b => parseFloat(getComputedStyle(b).fontSize)"
                          " >= parseFloat(getComputedStyle(document.body).fontSize)"), "the label is in small print"
    assert claim.bounding_box()["height"] >= 34, "the button is smaller than a primary button"

    row.get_by_role("checkbox").focus()
    page.keyboard.press("Tab")
    assert _focused(page) == "Send email"
    page.keyboard.press("Tab")
    assert _focused(page) == "Claim and review"
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/inbox/{item.pk}/")
    assert "Claimed by you" in page.get_by_test_id("item-status").inner_text()

    page.goto("/inbox/")
    page.locator(f"tr[data-item='{item.pk}']").get_by_role("button", name="Continue review").wait_for()


def test_the_item_page_offers_a_full_width_claim_first(page, login_as, screenshot, reviewer_user,
                                                       email_item):  # noqa: F811
    item = email_item()
    login_as(page, reviewer_user)
    page.goto(f"/inbox/{item.pk}/")
    panel = page.get_by_test_id("decide-panel")
    claim = panel.get_by_role("button", name="Claim this item")
    screenshot(page, "item-claim-button")

    approve = panel.get_by_role("button", name="Approve")
    assert claim.bounding_box()["width"] == approve.bounding_box()["width"], "the claim is as wide as Approve"
    assert claim.bounding_box()["y"] < approve.bounding_box()["y"]
    claim.focus()
    page.keyboard.press("Tab")
    assert _focused(page) == "Approve", "Approve comes next when tabbing"

    claim.click()
    page.wait_for_url(f"**/inbox/{item.pk}/")
    assert "Claimed by you" in page.get_by_test_id("item-status").inner_text()
    panel.get_by_role("button", name="Release my claim").wait_for()
