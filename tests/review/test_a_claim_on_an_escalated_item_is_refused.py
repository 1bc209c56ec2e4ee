"""A reviewer claims an overdue item at the moment the expiry pass escalates it to the admins.

The page and the API check "may this person decide this item?" on the item as they read it; the claim's
guarded UPDATE then waited for the escalation (which clears the item's claim) and, finding the item
pending and unclaimed, took it: an item no reviewer may decide showed as claimed by a reviewer in the
admins' inbox, keeping the admins off it until the claim lapsed. The claim must be refused as a decision
on an escalated item is (review.services, test_a_decision_sent_as_its_item_is_escalated_away_is_refused),
telling the reviewer where the item went.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from review.expiry import item_escalate
from review.models import ReviewItem
from tests.interleave import held_open, in_a_thread, sessions_waiting_on_a_lock

MOVED = re.compile(r"[Rr]eviewer may not decide this item: only admins may\. It was escalated to the 'admin' group at "
                   r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC; it is no longer in your queue\.")


def _page(client_for, api, user, item):
    response = client_for(user).post(reverse("review:claim", args=[item.pk]), follow=True)
    return response.status_code, html.unescape(response.content.decode())


def _api(client_for, api, user, item):
    response = api(user).post(f"/api/items/{item.pk}/claim", {}, content_type="application/json")
    return response.status_code, response.content.decode()


@pytest.mark.parametrize("surface", [_page, _api], ids=["item page", "api"])
def test_a_claim_that_waited_for_an_escalation_is_refused(surface, payment_item, reviewer_user, client_for, api,
                                                          wait_for):
    item = payment_item(due_in=3600, on_expiry="escalate", escalate_to="admin")
    ReviewItem.objects.filter(pk=item.pk).update(due_at=timezone.now() - timedelta(seconds=1))

    with held_open(lambda: item_escalate(item=item, group="admin")):
        # The surface reads the item as it was (the reviewers'), then its claim waits for the escalation.
        claimed = in_a_thread(lambda: surface(client_for, api, reviewer_user, item))
        wait_for(lambda: sessions_waiting_on_a_lock() > 0,
                 what="the claim to wait for the escalation (else the race is not exercised)")
    status, body = claimed.result(timeout=30)

    item.refresh_from_db()
    assert (item.status, item.reviewer_group, item.claimed_by_id) == ("pending", "admin", None)
    assert MOVED.search(body), body[:3000]
    # The page goes back to the inbox (the item is no longer the reviewer's to open); the API answers
    # 403, as for a decision on an item escalated away.
    assert status == (200 if surface is _page else 403)


def test_an_admin_s_claim_that_waited_for_an_escalation_is_taken(payment_item, admin_user, wait_for):
    from review.claims import item_claim

    item = payment_item(due_in=3600, on_expiry="escalate", escalate_to="admin")
    ReviewItem.objects.filter(pk=item.pk).update(due_at=timezone.now() - timedelta(seconds=1))

    with held_open(lambda: item_escalate(item=item, group="admin")):
        claimed = in_a_thread(lambda: item_claim(item=item, actor=admin_user))
        wait_for(lambda: sessions_waiting_on_a_lock() > 0, what="the claim to wait for the escalation")

    assert claimed.result(timeout=30).claimed_by_id == admin_user.pk, "admins decide escalated items"
