"""Pages left open keep up with other reviewers: an item decided elsewhere loses its decision buttons
(what was typed is kept in view) and shows the run's new status; the inbox list and the nav badge
refresh together."""

from __future__ import annotations

from review.services import DecisionInput, review_decide
from tests.review.fixtures import email_item  # noqa: F401  (fixture)


def test_an_open_item_decided_by_someone_else_loses_its_buttons_and_shows_the_run_moving_on(
    page, login_as, screenshot, reviewer_user, reviewer2_user, email_item  # noqa: F811
):
    item = email_item()
    login_as(page, reviewer2_user)
    page.goto(f"/inbox/{item.pk}/")
    assert page.locator(".run-card .pill").inner_text() == "suspended"
    page.locator("#reason").fill("Wrong recipient: check with sales first")

    review_decide(item=item, actor=reviewer_user, decision=DecisionInput("approve"))

    page.locator("#approve-form").wait_for(state="detached", timeout=8_000)  # the 5 s poll
    assert "Approved by Riley Reviewer at" in " ".join(page.get_by_test_id("item-status").inner_text().split())
    panel = page.get_by_test_id("decide-panel")
    assert "Nothing is left to decide" in panel.inner_text() and "Riley Reviewer" in panel.inner_text()
    for name in ("Approve", "Reject", "Send back with response", "Claim this item"):
        assert page.get_by_role("button", name=name).count() == 0, name
    assert page.locator("#edit").count() == 0  # the edit card went too
    assert page.locator(".run-card .pill").inner_text() == "queued"
    proposal = page.locator(".proposal-card").bounding_box()
    assert panel.bounding_box()["x"] > proposal["x"] + proposal["width"], "the new panel stays in the side column"
    assert page.get_by_test_id("item-status").inner_text().count("Approved") == 1
    unsent = page.get_by_test_id("unsent-input")
    assert "Wrong recipient: check with sales first" in unsent.inner_text()
    screenshot(page, "inbox-item-decided-elsewhere")


def test_text_shown_back_after_a_refused_decision_is_kept_when_someone_else_decides(
    page, login_as, reviewer_user, reviewer2_user, email_item  # noqa: F811
):
    item = email_item()
    login_as(page, reviewer2_user)
    page.goto(f"/inbox/{item.pk}/")
    page.locator("#response").fill("Make it shorter and mention the date")
    page.get_by_role("button", name="Reject").click()  # no reason: refused, the response is shown back
    page.get_by_text("Say why you reject this.").first.wait_for()
    assert page.locator("#response").input_value() == "Make it shorter and mention the date"

    review_decide(item=item, actor=reviewer_user, decision=DecisionInput("approve"))

    unsent = page.get_by_test_id("unsent-input")
    unsent.wait_for(timeout=8_000)  # the 5 s poll
    assert "Make it shorter and mention the date" in unsent.inner_text()


def test_the_inbox_list_and_the_nav_badge_refresh_together(
    page, login_as, reviewer_user, reviewer2_user, email_item  # noqa: F811
):
    first, second = email_item(), email_item(topic="the outage")
    login_as(page, reviewer_user)
    page.goto("/inbox/")
    page.wait_for_function("() => document.getElementById('nav-inbox-count').textContent === '2'")

    review_decide(item=first, actor=reviewer2_user, decision=DecisionInput("approve"))

    page.locator(f"tr[data-item='{first.pk}']").wait_for(state="detached", timeout=8_000)  # the list's 5 s poll
    # Not the badge's own 20 s timer: the list's refresh brings the badge along.
    page.wait_for_function("() => document.getElementById('nav-inbox-count').textContent === '1'", timeout=1_500)
    assert page.locator(f"tr[data-item='{second.pk}']").count() == 1
