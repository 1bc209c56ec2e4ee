"""An admin raises a stopped run's cap and resumes it, and the form is sent twice (a double click, a
browser re-sending it). The second request waits for the first on the run's row and then finds the cap
already raised: it used to answer "The new cap must be above the current $10.00" on the form (400), so the
page the admin was left looking at said their raise had failed. It says the stop was already decided, by
whom, and that nothing changed."""

from __future__ import annotations

from django.urls import reverse

from audit.models import LedgerEntry
from orchestrator.models import Budget, Run
from orchestrator.services import run_start
from review.models import ReviewItem


def test_the_second_send_says_the_stop_was_already_decided(priced, advance, make_budget, admin_user, client_for,
                                                          redis_conn):
    budget = make_budget("Shared", cap="0")  # a $0 cap stops the run at its first call
    run = run_start(workflow="cost_probe", input={"calls": 2})
    assert advance(run) == "suspended"
    item = ReviewItem.objects.get(run=run, kind="budget_exceeded", status="pending")
    client = client_for(admin_user)
    url = reverse("audit:budget_stop_resume", args=[item.pk])

    first = client.post(url, {"cap": "10"})
    second = client.post(url, {"cap": "10"}, follow=True)

    assert first.status_code == 302
    page = second.content.decode()
    assert second.status_code == 200 and "must be above the current" not in page
    assert "This item was already decided (approve) by Alex Admin at " in page and "your decision changed nothing" in page
    assert "This stop was already decided by Alex Admin (approve)." in page
    assert Budget.objects.get(pk=budget.pk).cap == 10
    assert LedgerEntry.objects.filter(kind="budget_changed").count() == 1
    assert LedgerEntry.objects.filter(chain=run.thread_id, kind="decision").count() == 1
    assert Run.objects.get(pk=run.pk).status == "queued"
