"""Two reviewers in two browsers approve the same item at the same moment: one wins, the other is told who."""

from __future__ import annotations

from review.models import ReviewItem
from tests.review.fixtures import email_item  # noqa: F401  (fixture)


def test_two_browsers_approving_at_once_one_succeeds_the_other_is_told_who_decided(
    browser, live_server, page, login_as, screenshot, reviewer_user, reviewer2_user, email_item  # noqa: F811
):
    item = email_item()
    other_context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800})
    other = other_context.new_page()
    other.set_default_timeout(10_000)
    try:
        login_as(page, reviewer_user)
        login_as(other, reviewer2_user)
        for p in (page, other):
            p.goto(f"/inbox/{item.pk}/")

        # Submit both forms without waiting for either response.
        for p in (page, other):
            p.evaluate("document.getElementById('decide-form').requestSubmit("
                       "document.querySelector('#approve-form button'))")
        for p in (page, other):
            p.wait_for_function(
                "() => document.querySelector('.messages') || document.querySelector('[data-testid=decision-error]')")

        decided = ReviewItem.objects.select_related("decided_by").get(pk=item.pk)
        winner, loser = (page, other) if decided.decided_by == reviewer_user else (other, page)
        assert f"Approved #{item.pk}" in winner.locator(".messages").inner_text()
        told = loser.get_by_test_id("decision-error").inner_text()
        assert f"already decided (approve) by {decided.decided_by.get_full_name()} at " in told
        assert "your decision changed nothing" in told
        screenshot(loser, "inbox-item-already-decided")
        assert ReviewItem.objects.get(pk=item.pk).decisions.count() == 1
    finally:
        other_context.close()
