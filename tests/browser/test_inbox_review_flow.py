"""A reviewer works a real email_approval item in Chromium: invalid edit → inline error → fix → approve;
a real worker process resumes the run and the email goes out with the edited text."""

from __future__ import annotations

from orchestrator.models import OutboxMessage, Run
from review.models import ReviewItem
from tests.review.fixtures import email_item  # noqa: F401  (fixture)


def test_a_reviewer_fixes_an_invalid_edit_approves_and_the_worker_sends_the_edited_email(
    page, login_as, screenshot, reviewer_user, email_item, start_worker  # noqa: F811, wait_for
):
    item = email_item(to="cfo@example.com", topic="Q3 numbers")
    email_item(to="ops@example.com", topic="the outage postmortem")
    login_as(page, reviewer_user)

    page.goto("/inbox/")
    row = page.locator(f"tr[data-item='{item.pk}']")
    assert "to: cfo@example.com" in row.inner_text()
    page.wait_for_function("() => document.getElementById('nav-inbox-count').textContent === '2'")
    screenshot(page, "inbox")

    row.get_by_role("button", name="Claim and review").click()
    page.wait_for_url(f"**/inbox/{item.pk}/")
    assert "Claimed by you" in page.get_by_test_id("item-status").inner_text()
    screenshot(page, "inbox-item")

    page.get_by_role("heading", name="Edit, then approve").click()  # the edit card opens on demand
    page.locator("#arg-to").fill("not-an-email")
    page.get_by_role("button", name="Approve with these edits").click()
    error = page.get_by_test_id("error-to")
    assert "Doesn't have the expected form" in error.inner_text()
    assert page.locator("#arg-to").input_value() == "not-an-email"  # what they typed is kept
    screenshot(page, "inbox-item-invalid-edit")

    page.locator("#arg-to").fill("ceo@example.com")
    page.locator("#arg-body").fill("Dear CEO,\nThe Q3 numbers are attached.\nBest,\nRiley")
    assert page.locator(".edit-field.changed").count() == 2  # highlighted as they type
    page.get_by_role("button", name="Approve with these edits").click()
    page.wait_for_url("**/inbox/")
    assert f"Edited and approved #{item.pk}" in page.locator(".messages").inner_text()
    assert page.locator(f"tr[data-item='{item.pk}']").count() == 0

    worker = start_worker(burst=True)
    assert worker.popen.wait(timeout=60) == 0, worker.output()
    run = Run.objects.get(pk=item.run_id)
    assert run.status == "completed"
    sent = OutboxMessage.objects.get()
    assert (sent.to, sent.body) == ("ceo@example.com", "Dear CEO,\nThe Q3 numbers are attached.\nBest,\nRiley")
    assert ReviewItem.objects.get(pk=item.pk).decided_by == reviewer_user
