"""A run stopped by a budget was listed on the Budgets page as "3 minutes ago", with no time: an admin
could not line it up with the ledger, a log or an e-mail, which give UTC times. The stop now shows
when it happened in UTC (as the other pages do) with how long ago beside it, on the Budgets page and
on the stop's own page."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orchestrator.models import Budget
from orchestrator.services import run_start
from orchestrator.state import dumps
from review.models import ReviewItem

PHONE = 390


@pytest.fixture
def a_stop(transactional_db) -> ReviewItem:
    """A run stopped by the "Legal" budget 3 minutes ago (set back: the row's time is the database's)."""
    budget = Budget.objects.create(name="Legal", scope="global", cap=Decimal("0.30"))
    facts = {"budget": "Legal", "budget_id": str(budget.pk), "cap": "0.30", "spent": "0.25", "reserved": "0",
             "max_cost": "0.10", "model": "demo-small"}
    run = run_start(workflow="email_approval", input={"to": "a@b.co", "topic": "the renewal"})
    item = ReviewItem.objects.create(run=run, step=1, node="draft", kind="budget_exceeded", workflow=run.workflow,
                                     reviewer_group="admin", request=dumps({"budget": facts}))
    stopped = (timezone.now() - timedelta(minutes=3, seconds=10)).replace(microsecond=0)
    ReviewItem.objects.filter(pk=item.pk).update(created_at=stopped)
    item.refresh_from_db()
    return item


@pytest.mark.parametrize("width", [1280, PHONE])
def test_the_budgets_page_says_when_a_run_was_stopped(page, login_as, screenshot, admin_user, a_stop, width):
    page.set_viewport_size({"width": width, "height": 900})
    login_as(page, admin_user)
    page.goto("/costs/budgets/")
    since = page.get_by_test_id("budget-stop").locator("td[data-label='Since']")
    screenshot(page, f"budget-stop-since-{width}")

    stamp = f"{a_stop.created_at:%Y-%m-%d %H:%M} UTC"
    assert " ".join(since.inner_text().split()) == f"{stamp} 3 minutes ago"
    when = since.locator("time")
    assert when.get_attribute("datetime") == a_stop.created_at.isoformat()
    assert when.get_attribute("title") == f"{a_stop.created_at:%Y-%m-%d %H:%M:%S} UTC"
    if width == PHONE:
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE, "the page scrolls sideways"


def test_the_stop_s_page_says_when_it_stopped(page, login_as, screenshot, admin_user, a_stop):
    login_as(page, admin_user)
    page.goto(f"/costs/budgets/stops/{a_stop.pk}/")
    screenshot(page, "budget-stop-page-when")
    assert f"Stopped at {a_stop.created_at:%Y-%m-%d %H:%M:%S} UTC (3 minutes ago)" in \
        " ".join(page.get_by_test_id("stopped-at").inner_text().split())
