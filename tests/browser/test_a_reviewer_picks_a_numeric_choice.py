"""In Chromium: a reviewer picks 3 for a `Literal[1, 2, 3]` priority and GOLD (2) for an IntEnum tier in
the edit card, approves with these edits, and a real worker carries the run on with the numbers. The
form once sent "3" and "2", which the edit (read as JSON) refused, so such a field could not be edited.
Every other field (a date, an optional flag, optional text and choices at none, a decimal…) goes back
untouched as the browser sends it, and is not edited."""

from __future__ import annotations

from playwright.sync_api import expect

from orchestrator.history import state_at
from orchestrator.models import Run
from review.models import ReviewItem
from tests.review.fixtures import dispatch_item  # noqa: F401  (fixture)


def test_a_reviewer_picks_numbers_and_the_run_goes_on_with_them(page, login_as, screenshot, reviewer_user,
                                                                 dispatch_item, start_worker):  # noqa: F811
    item = dispatch_item()
    login_as(page, reviewer_user)
    page.goto(f"/inbox/{item.pk}/")

    page.get_by_role("heading", name="Edit, then approve").click()
    page.locator("#arg-priority").select_option(label="3")
    page.locator("#arg-tier").select_option(label="GOLD (2)")
    expect(page.locator(".edit-field.changed")).to_have_count(2)  # marked as they pick
    screenshot(page, "numeric-choices-picked")
    page.get_by_role("button", name="Approve with these edits").click()

    page.wait_for_url("**/inbox/")
    expect(page.locator(".messages")).to_contain_text(f"Edited and approved #{item.pk}")
    assert ReviewItem.objects.get(pk=item.pk).edits == {"priority": 3, "tier": 2}

    worker = start_worker(burst=True)
    assert worker.popen.wait(timeout=60) == 0, worker.output()
    run = Run.objects.get(pk=item.run_id)
    assert run.status == "completed"
    state = state_at(run.pk, run.step)
    assert (state["priority"], state["tier"]) == (3, 2)
    assert state["dispatched"] == "priority=3, tier=<Tier.GOLD: 2>, speed='auto', retries=None"
