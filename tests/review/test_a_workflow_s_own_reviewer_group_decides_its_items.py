"""A gate may name a reviewer group of its own ("legal"), made in the admin site: its members who have
an inbox see, decide and are mailed its items, and nobody else but the admins; a group nobody with an
inbox is in (misspelt in the workflow, or left empty) is shown to the admins who alone can decide it."""

from __future__ import annotations

import re

from django.contrib.auth.models import Group
from django.core import mail

from review.models import ReviewItem


def _rows(page) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-item="(\d+)"', page.content.decode())]


def test_members_of_the_named_group_see_decide_and_are_mailed_its_item(payment_item, make_user, client_for):
    lena = make_user("lena", "reviewer", "legal")
    rita = client_for(make_user("rita", "reviewer"))
    lex = client_for(make_user("lex", "legal"))  # in the group, but no role gives them an inbox
    mail.outbox.clear()
    item = payment_item(group="legal")

    assert mail.outbox[-1].bcc == ["lena@example.com"]
    assert _rows(client_for(lena).get("/inbox/")) == [item.pk]
    assert _rows(rita.get("/inbox/")) == []
    assert rita.post(f"/inbox/{item.pk}/decide/", {"decision": "approve"}).status_code == 404  # not hers to see
    assert lex.post(f"/inbox/{item.pk}/decide/", {"decision": "approve"}).status_code == 403
    assert ReviewItem.objects.get(pk=item.pk).status == "pending"

    assert client_for(lena).post(f"/inbox/{item.pk}/decide/", {"decision": "approve"}).status_code == 302
    item.refresh_from_db()
    assert (item.status, item.decision, item.decided_by) == ("decided", "approve", lena)


def test_the_api_lets_a_member_decide_the_item_of_their_group(payment_item, make_user, client_for):
    lena = make_user("lena", "reviewer", "legal")
    item = payment_item(group="legal")

    listed = client_for(lena).get("/api/items").json()
    assert [i["id"] for i in listed["items"]] == [item.pk]
    response = client_for(lena).post(f"/api/items/{item.pk}/decision", {"decision": "approve"},
                                     content_type="application/json")
    assert response.status_code == 200, response.content
    assert ReviewItem.objects.get(pk=item.pk).decided_by == lena


def test_an_admin_is_told_when_nobody_else_can_decide_an_item(payment_item, make_user, client_for):
    admin = client_for(make_user("ada", "admin"))
    make_user("lena", "reviewer", "legal")
    misspelt = payment_item(group="reviwer")
    staffed = payment_item(group="legal")

    inbox = admin.get("/inbox/").content.decode()
    assert inbox.count('data-testid="group-unstaffed"') == 1
    assert "nobody in “reviwer”" in inbox
    page = admin.get(f"/inbox/{misspelt.pk}/").content.decode()
    assert ("Nobody but admins can decide this item: no one with an inbox is in the “reviwer” group. Add people "
            "to that group in Admin → Groups (they also need the reviewer role), or correct the reviewer group "
            "the workflow's gate names.") in page
    assert 'data-testid="group-unstaffed"' not in admin.get(f"/inbox/{staffed.pk}/").content.decode()

    # Someone with an inbox joins the group: the warning goes.
    make_user("rowan", "reviewer", "reviwer")
    assert 'data-testid="group-unstaffed"' not in admin.get("/inbox/").content.decode()
    assert 'data-testid="group-unstaffed"' not in admin.get(f"/inbox/{misspelt.pk}/").content.decode()


def test_an_inactive_member_does_not_staff_a_group(payment_item, make_user, client_for):
    admin = client_for(make_user("ada", "admin"))
    make_user("lena", "reviewer", "legal", is_active=False)
    item = payment_item(group="legal")

    assert "nobody in “legal”" in admin.get("/inbox/").content.decode()
    assert Group.objects.filter(name="legal").exists()
    assert 'data-testid="group-unstaffed"' in admin.get(f"/inbox/{item.pk}/").content.decode()



def test_a_member_s_open_page_says_when_the_item_is_escalated_away(payment_item, make_user, client_for):
    lena = client_for(make_user("lena", "reviewer", "legal"))
    item = payment_item(group="legal")
    assert lena.get(f"/inbox/{item.pk}/").status_code == 200
    ReviewItem.objects.filter(pk=item.pk).update(reviewer_group="admin", escalated_from="legal")

    poll = lena.get(f"/inbox/{item.pk}/status/", HTTP_HX_REQUEST="true")

    assert poll.status_code == 200 and "now belongs to the <strong>admin</strong> group" in poll.content.decode()
