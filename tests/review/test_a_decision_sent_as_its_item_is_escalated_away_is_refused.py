"""A reviewer decides an overdue item at the moment the expiry pass escalates it to the admins.

Every surface checks "may this person decide this item?" on the item as it reads it, before the decision
locks the run. The escalation (which takes the same locks) may commit in between: the item now belongs to
the admins and has no deadline any more, so without a second look under the lock the reviewer's decision
went through on an item no reviewer may decide. The decision must be refused, and the item left to the
admins, on the page, the API and the bulk form alike.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import LedgerEntry
from orchestrator.models import Run
from review.expiry import item_escalate
from review.models import ReviewItem
from tests.interleave import held_open, in_a_thread, sessions_waiting_on_a_lock

REFUSAL = "reviewer may not decide this item: only admins may."


def _page(client_for, api, user, item):
    response = client_for(user).post(reverse("review:decide", args=[item.pk]), {"decision": "approve"})
    return response.status_code, response.content.decode()


def _api(client_for, api, user, item):
    response = api(user).post(f"/api/items/{item.pk}/decision", {"decision": "approve"},
                              content_type="application/json")
    return response.status_code, response.content.decode()


def _bulk(client_for, api, user, item):
    response = api(user).post("/api/items/bulk", {"ids": [item.pk], "decision": "approve"},
                              content_type="application/json")
    return response.status_code, response.content.decode()


@pytest.mark.parametrize("surface", [_page, _api, _bulk], ids=["item page", "api", "bulk"])
def test_a_decision_that_waited_for_an_escalation_is_refused(surface, payment_item, reviewer_user, admin_user,
                                                             client_for, api, wait_for):
    item = payment_item(due_in=3600, on_expiry="escalate", escalate_to="admin")
    ReviewItem.objects.filter(pk=item.pk).update(due_at=timezone.now() - timedelta(seconds=1))

    with held_open(lambda: item_escalate(item=item, group="admin")):
        # The surface reads the item as it was (the reviewers'), then waits on the run row for the escalation.
        decided = in_a_thread(lambda: surface(client_for, api, reviewer_user, item))
        wait_for(lambda: sessions_waiting_on_a_lock() > 0,
                 what="the decision to wait for the escalation (else the race is not exercised)")
    status, body = decided.result(timeout=30)

    assert REFUSAL in body.replace("&#x27;", "'"), body[:2000]
    assert status == (200 if surface is _bulk else 403)  # the bulk answer lists the item as skipped, with why
    item.refresh_from_db()
    assert (item.status, item.reviewer_group, item.decided_by_id) == ("pending", "admin", None)
    assert Run.objects.get(pk=item.run_id).status == "suspended"
    assert not LedgerEntry.objects.filter(chain=item.run.thread_id, kind="decision").exists()
