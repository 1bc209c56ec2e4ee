"""A run that worked 40 ms before its gate read "0.0 s working" on its page and in the runs list, as if
it had not worked at all. Under a tenth of a second a duration is said in milliseconds ("40 ms"), and
under one millisecond as "< 1 ms"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from orchestrator.models import Run
from review.models import ReviewItem
from tests.review.fixtures import email_item  # noqa: F401  (fixture)

NBSP = "\u00a0"


@pytest.fixture
def quick_run(email_item) -> Run:  # noqa: F811
    """A run that worked 40 ms, then entered its gate a minute ago (times set back: the rows' own
    times are the database's clock)."""
    item = email_item()
    started = timezone.now() - timedelta(minutes=1)
    Run.objects.filter(pk=item.run_id).update(created_at=started)
    ReviewItem.objects.filter(pk=item.pk).update(created_at=started + timedelta(milliseconds=40))
    return Run.objects.get(pk=item.run_id)


def _pages(client, run: Run) -> list[str]:
    return [client.get(reverse("audit:run", args=[run.thread_id])).content.decode(),
            client.get(reverse("audit:runs")).content.decode()]


def test_a_run_that_worked_40_ms_says_so_on_its_page_and_in_the_runs_list(quick_run, engineer_user, client_for):
    for html in _pages(client_for(engineer_user), quick_run):
        assert f"40{NBSP}ms <span class=\"muted\">working</span>" in html
        assert f"0.0{NBSP}s" not in html


def test_a_run_shorter_than_a_millisecond_says_less_than_one(quick_run, engineer_user, client_for):
    ReviewItem.objects.filter(run=quick_run).delete()
    Run.objects.filter(pk=quick_run.pk).update(status="completed",
                                              finished_at=quick_run.created_at + timedelta(microseconds=400))

    for html in _pages(client_for(engineer_user), quick_run):
        assert f"&lt;{NBSP}1{NBSP}ms" in html
        assert f"0.0{NBSP}s" not in html


def test_a_tenth_of_a_second_and_more_keeps_its_seconds(quick_run, engineer_user, client_for):
    ReviewItem.objects.filter(run=quick_run).delete()
    Run.objects.filter(pk=quick_run.pk).update(status="completed",
                                              finished_at=quick_run.created_at + timedelta(milliseconds=100))

    for html in _pages(client_for(engineer_user), quick_run):
        assert f"0.1{NBSP}s" in html and f"{NBSP}ms" not in html
