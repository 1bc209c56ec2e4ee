"""In Chromium: a proposal whose payee holds a zero-width space and whose memo holds a right-to-left
override (an IBAN the browser would show reordered). The browser shows neither character, so a reviewer
read "ap@supplier.example" and approved a payment to another address; the item page now marks each one
⟨U+…⟩ where it stands (named in its title), warns of them by the decision buttons, and the inbox row
marks the one in its summary."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.review.fixtures import payment_item, payment_workflow  # noqa: F401  (fixtures)

PAYEE = "ap@supp\u200blier.example"
MEMO = "IBAN \u202e00 0310 2350 4400 4073 98ED"


def test_the_item_page_marks_them_and_warns_and_the_inbox_marks_the_summary(page, login_as, screenshot,
                                                                            reviewer_user, payment_item):  # noqa: F811
    item = payment_item(payee=PAYEE, memo=MEMO)
    login_as(page, reviewer_user)

    page.goto(f"/inbox/{item.pk}/")

    payee = page.locator("[data-arg=payee]")
    expect(payee).to_have_text("ap@supp⟨U+200B⟩lier.example")
    expect(payee.locator(".hidden-char")).to_have_attribute("title", "U+200B ZERO WIDTH SPACE")
    memo = page.locator("[data-arg=memo]")
    expect(memo).to_have_text("IBAN ⟨U+202E⟩00 0310 2350 4400 4073 98ED")  # in the order it was written
    expect(memo.locator(".hidden-char")).to_have_attribute("title", "U+202E RIGHT-TO-LEFT OVERRIDE")
    expect(page.get_by_test_id("description")).to_contain_text("ap@supp⟨U+200B⟩lier.example")
    warning = page.get_by_test_id("decide-panel").get_by_test_id("hidden-chars-warning")
    expect(warning).to_have_text(
        "Hidden characters. This proposal contains 3 hidden characters (U+200B ZERO WIDTH SPACE ×2, "
        "U+202E RIGHT-TO-LEFT OVERRIDE), marked ⟨…⟩ in the proposal: check them before approving.")
    # A text box cannot mark them: it holds them as they are, and the edit card says so.
    page.get_by_role("heading", name="Edit, then approve").click()
    expect(page.locator("#arg-payee")).to_have_value(PAYEE)
    expect(page.get_by_test_id("hidden-chars-edit-note")).to_be_visible()
    screenshot(page, "inbox-item-hidden-characters")

    page.goto("/inbox/")

    row = page.locator(f"tr[data-item='{item.pk}']")
    expect(row.locator(".summary")).to_have_text("Pay 1200 to ap@supp⟨U+200B⟩lier.example.")
    expect(row.locator(".summary .hidden-char")).to_have_attribute("title", "U+200B ZERO WIDTH SPACE")
    expect(row.locator(".args-preview .hidden-char")).to_have_count(2)
