"""In Chromium: a reviewer ticks two items and presses "Reject selected" without a reason. The
refusal says why and the two items are still ticked; Enter in the reason box decides nothing; typing
a reason and pressing Reject again rejects exactly those two."""

from __future__ import annotations

from playwright.sync_api import expect

from review.models import ReviewItem
from tests.review.fixtures import email_item  # noqa: F401  (fixture)


def test_the_selection_survives_a_refused_bulk_rejection(page, login_as, screenshot, reviewer_user,
                                                         email_item):  # noqa: F811
    first, second, third = email_item(), email_item(topic="rollout"), email_item(topic="budget")
    login_as(page, reviewer_user)
    page.goto("/inbox/")

    page.get_by_label(f"Select item {first.pk}").check()
    page.get_by_label(f"Select item {third.pk}").check()
    page.get_by_role("button", name="Reject selected").click()

    expect(page.get_by_test_id("bulk-error")).to_contain_text("A bulk rejection needs a reason")
    expect(page.get_by_label(f"Select item {first.pk}")).to_be_checked()
    expect(page.get_by_label(f"Select item {third.pk}")).to_be_checked()
    expect(page.get_by_label(f"Select item {second.pk}")).not_to_be_checked()
    screenshot(page, "inbox-bulk-reject-without-reason")

    reason = page.get_by_label("Reason for a bulk rejection")
    reason.fill("Duplicates of last week's")
    reason.press("Enter")  # Enter presses no button: it used to approve the selection
    page.wait_for_timeout(500)
    assert not ReviewItem.objects.exclude(status="pending").exists()
    page.get_by_role("button", name="Reject selected").click()
    expect(page.locator(".messages")).to_contain_text("2 items rejected")
    decided = ReviewItem.objects.filter(decision="reject").values_list("pk", flat=True)
    assert sorted(decided) == sorted([first.pk, third.pk])
