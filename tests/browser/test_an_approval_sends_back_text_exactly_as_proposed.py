"""In Chromium: a proposal whose text starts with a line break (a memo a model began with "\\n")
is approved with a plain Approve. The browser drops the first newline after a <textarea> tag, so
a page that printed the value straight after the tag would send back a different memo, and the
approval would be refused as "you changed Memo"; nor may the edit card mark it changed."""

from __future__ import annotations

from playwright.sync_api import expect

from review.models import ReviewItem
from tests.review.fixtures import payment_item, payment_workflow  # noqa: F401  (fixtures)

MEMO = "\nInvoice 4711, second instalment.\n"


def test_a_memo_starting_with_a_newline_is_approved_as_it_was_proposed(page, login_as, reviewer_user,
                                                                      payment_item):  # noqa: F811
    item = payment_item(memo=MEMO)
    login_as(page, reviewer_user)
    page.goto(f"/inbox/{item.pk}/")

    page.get_by_role("heading", name="Edit, then approve").click()
    expect(page.locator("#arg-memo")).to_have_value(MEMO)
    expect(page.locator(".edit-field.changed")).to_have_count(0)
    page.get_by_role("button", name="Approve", exact=True).click()

    page.wait_for_url("**/inbox/")
    item = ReviewItem.objects.get(pk=item.pk)
    assert (item.status, item.decision, item.edits) == ("decided", "approve", None)
