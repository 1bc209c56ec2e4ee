"""A run that worked a few seconds and then sat at its approval gate for 19 minutes read "Duration
1158.6 s" (and growing) on its page: the wall clock, as if it had worked all that time. Its page and
the runs list now show the working time, and apart from it the wait for a decision, in minutes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from orchestrator.models import Run
from review.models import ReviewItem
from tests.review.fixtures import email_item  # noqa: F401  (fixture)

PHONE = 390


def _duration(page) -> list[str]:
    """The run page's Duration fact, word by word."""
    fact = page.get_by_test_id("run-header").locator(".facts > div").filter(has=page.locator("dt", has_text="Duration"))
    return fact.locator("dd").inner_text().split()


@pytest.fixture
def parked_run(email_item) -> Run:  # noqa: F811
    """A run that worked 4 s, then entered its gate 19 min 16 s ago (times set back: the rows'
    own times are the database's clock, and nothing in a test may wait 19 minutes)."""
    item = email_item()
    started = timezone.now() - timedelta(minutes=19, seconds=20)
    Run.objects.filter(pk=item.run_id).update(created_at=started)
    ReviewItem.objects.filter(pk=item.pk).update(created_at=started + timedelta(seconds=4))
    return Run.objects.get(pk=item.run_id)


@pytest.mark.parametrize("width", [1280, PHONE])
def test_a_run_waiting_at_its_gate_shows_working_time_and_the_wait_apart(page, login_as, screenshot,
                                                                         engineer_user, parked_run, width):
    page.set_viewport_size({"width": width, "height": 900})
    login_as(page, engineer_user)

    page.goto(f"/runs/{parked_run.thread_id}/")
    screenshot(page, f"run-duration-waiting-{width}")
    assert _duration(page) == ["4.0", "s", "working", "waiting", "19", "min", "for", "a", "decision"]

    page.goto("/runs/")
    row = page.get_by_test_id("run-row").filter(has_text=parked_run.thread_id)
    screenshot(page, f"runs-duration-waiting-{width}")
    assert row.locator("td[data-label='Duration']").inner_text().split() == \
        ["4.0", "s", "working", "waiting", "19", "min", "for", "a", "decision"]
    assert "1158" not in row.inner_text() and "1160" not in row.inner_text()


def test_a_finished_run_says_how_long_it_waited(page, login_as, engineer_user, reviewer_user, parked_run):
    # Decided 2 h 5 min after the gate was entered; the run then ended 1.5 s later.
    item = ReviewItem.objects.get(run=parked_run)
    decided = item.created_at + timedelta(hours=2, minutes=5)
    ReviewItem.objects.filter(pk=item.pk).update(status="decided", decision="approve", decided_by=reviewer_user,
                                                 decided_at=decided)
    Run.objects.filter(pk=parked_run.pk).update(status="completed", finished_at=decided + timedelta(seconds=1.5))
    login_as(page, engineer_user)

    page.goto(f"/runs/{parked_run.thread_id}/")
    assert _duration(page) == ["5.5", "s", "working", "waited", "2", "h", "5", "min", "for", "a", "decision"]


def test_a_run_that_never_waited_shows_one_duration(page, login_as, engineer_user, parked_run):
    finished = parked_run.created_at + timedelta(minutes=2, seconds=5)
    ReviewItem.objects.filter(run=parked_run).delete()
    Run.objects.filter(pk=parked_run.pk).update(status="completed", finished_at=finished)
    login_as(page, engineer_user)

    page.goto(f"/runs/{parked_run.thread_id}/")
    assert _duration(page) == ["2", "min", "5", "s"]
