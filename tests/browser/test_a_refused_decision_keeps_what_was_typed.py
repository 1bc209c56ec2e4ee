"""In Chromium: a reviewer writes a response and edits the subject, then presses Reject with no
reason. The refusal keeps the response, the edit and the edit card open; writing a reason and
pressing Reject again records the rejection (and nothing else)."""

from __future__ import annotations

from playwright.sync_api import expect

from review.models import ReviewItem
from tests.review.fixtures import email_item  # noqa: F401  (fixture)


def test_a_reject_without_reason_keeps_the_response_and_the_edit(page, login_as, screenshot, reviewer_user,
                                                                 email_item):  # noqa: F811
    item = email_item()
    login_as(page, reviewer_user)
    page.goto(f"/inbox/{item.pk}/")

    page.get_by_label("Respond to the agent").fill("Make it shorter and mention the date")
    page.get_by_role("heading", name="Edit, then approve").click()
    page.locator("#arg-subject").fill("Q3 numbers, short version")
    page.get_by_role("button", name="Reject").click()

    expect(page.get_by_test_id("decision-error")).to_contain_text("A rejection needs a reason")
    expect(page.get_by_label("Respond to the agent")).to_have_value("Make it shorter and mention the date")
    expect(page.locator("#arg-subject")).to_be_visible()
    expect(page.locator("#arg-subject")).to_have_value("Q3 numbers, short version")
    expect(page.locator(".edit-field.changed")).to_have_count(1)
    screenshot(page, "item-refused-reject-keeps-typing")

    page.get_by_label("Reason for rejecting").fill("Wrong recipient")
    page.get_by_role("button", name="Reject").click()
    page.wait_for_url("**/inbox/")
    item.refresh_from_db()
    assert (item.status, item.decision, item.reason, item.response) == ("decided", "reject", "Wrong recipient", "")
    assert ReviewItem.objects.get(pk=item.pk).edits is None
