"""An LLM draft carrying <script> and <img onerror> shows up as text on the item page and runs nothing."""

from __future__ import annotations

from tests.fakes.fixtures import fake_llm  # noqa: F401  (fixture)
from tests.review.fixtures import email_item  # noqa: F401  (fixture)

HOSTILE = 'Hello <script>window.pwned = 1</script><img src="x" onerror="window.pwned = 2"> bye'


def test_an_llm_draft_with_script_and_img_onerror_renders_as_text(page, login_as, screenshot, reviewer_user,
                                                                  email_item, fake_llm):  # noqa: F811
    fake_llm.reply_text = HOSTILE
    item = email_item(model="gpt-4o-mini")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    login_as(page, reviewer_user)

    page.goto(f"/inbox/{item.pk}/")

    body = page.locator("[data-arg=body]")
    assert body.inner_text().strip() == HOSTILE  # the markup is shown, as characters
    assert body.locator("script, img").count() == 0
    assert page.locator("#arg-body").input_value() == HOSTILE  # the edit form holds it as text too
    assert page.evaluate("window.pwned === undefined")
    assert dialogs == []
    screenshot(page, "inbox-item-untrusted-draft")
