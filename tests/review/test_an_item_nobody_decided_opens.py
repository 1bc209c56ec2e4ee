"""The page of an item that ended without anyone deciding it opens and says who ended it: the
person who cancelled its run, or "the system" when nobody did (a run cancelled by code), as does
its status poll. It was a 500: the template read the decider's username through a filter argument,
which Django does not forgive when there is no decider."""

from __future__ import annotations

from orchestrator.services import run_cancel
from review.models import ItemStatus


def test_an_item_of_a_run_cancelled_by_code_opens_and_says_the_system(payment_item, reviewer_user, client_for):
    item = payment_item()
    run_cancel(run=item.run, reason="superseded")
    item.refresh_from_db()
    assert (item.status, item.decided_by_id) == (ItemStatus.CANCELLED, None)
    client = client_for(reviewer_user)

    page = client.get(f"/inbox/{item.pk}/")
    assert page.status_code == 200
    assert "this item was cancelled by <strong>the system</strong>." in page.content.decode()
    poll = client.get(f"/inbox/{item.pk}/status/?seen=stale")
    assert poll.status_code == 200 and "by <strong>the system</strong>" in poll.content.decode()


def test_an_item_of_a_run_someone_cancelled_names_them(payment_item, reviewer_user, admin_user, client_for):
    item = payment_item()
    run_cancel(run=item.run, actor=admin_user)

    page = client_for(reviewer_user).get(f"/inbox/{item.pk}/").content.decode()
    name = admin_user.get_full_name() or admin_user.username
    assert f"this item was cancelled by <strong>{name}</strong>." in page
