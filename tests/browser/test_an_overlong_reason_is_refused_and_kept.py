"""In Chromium: a reviewer pastes a reason longer than the 10,000-character limit and presses Reject.
The page says the limit and what to do, marks the reason's box and keeps the text in it (nothing is cut
by the browser, nothing is decided); trimming it to the limit and pressing Reject again rejects."""

from __future__ import annotations

from playwright.sync_api import expect

from review.models import ReviewItem
from review.services import DECISION_TEXT_MAX
from tests.review.fixtures import email_item  # noqa: F401  (fixture)


def test_a_reason_over_the_limit_is_refused_and_kept_in_its_box(page, login_as, screenshot, reviewer_user,
                                                                email_item):  # noqa: F811
    item = email_item()
    login_as(page, reviewer_user)
    page.goto(f"/inbox/{item.pk}/")
    reason = page.get_by_label("Reason for rejecting")

    reason.fill("Wrong recipient. " + "x" * DECISION_TEXT_MAX)
    page.get_by_role("button", name="Reject").click()

    expect(page.get_by_test_id("decision-error")).to_contain_text(
        "The reason is 10,017 characters, over the limit of 10,000: shorten it")
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(reason).to_have_value("Wrong recipient. " + "x" * DECISION_TEXT_MAX)
    assert ReviewItem.objects.get(pk=item.pk).status == "pending"
    screenshot(page, "item-reason-over-the-limit")

    reason.fill("Wrong recipient.")
    page.get_by_role("button", name="Reject").click()
    page.wait_for_url("**/inbox/")
    assert ReviewItem.objects.get(pk=item.pk).reason == "Wrong recipient."
