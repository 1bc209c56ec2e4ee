"""Someone outside an item's group who tries to decide it is told the same sentence by the CLI (`runs
resume`), the API (both decision endpoints and the claim), the page and a bulk decision, and the item page
names the same people: its group's members and admins, or admins alone when only they decide it. The CLI
said "only members of the 'reviewer' group (or admins) may", the API "only members of the 'reviewer' group
may decide this item", leaving admins out."""

from __future__ import annotations

import html as html_lib
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from review.bulk import items_decide_bulk
from review.models import ReviewItem

REFUSED = "engineer may not decide this item: only members of the 'reviewer' group and admins may."


@pytest.fixture
def item(email_item, engineer_user) -> ReviewItem:
    """An item of the 'reviewer' group, which the engineer may read but not decide."""
    return email_item()


def test_the_cli_says_it(item, engineer_user):
    with pytest.raises(CommandError) as refused:
        call_command("runs", "resume", item.run.thread_id, "--approve", "--actor", engineer_user.username,
                     stdout=StringIO())
    assert str(refused.value) == REFUSED


@pytest.mark.parametrize(("url", "body"), [("/api/items/{pk}/decision", {"decision": "approve"}),
                                         ("/api/items/{pk}/claim", {}),  # a claim takes no decision
                                         ("/api/runs/{run}/decision", {"decision": "approve"})])
def test_the_api_says_it_with_a_403(client_for, item, engineer_user, url, body):
    response = client_for(engineer_user).post(url.format(pk=item.pk, run=item.run.thread_id),
                                              json.dumps(body), content_type="application/json")
    assert (response.status_code, response.json()) == (403, {"detail": REFUSED})


def test_the_page_says_it_with_a_403(client_for, item, engineer_user):
    response = client_for(engineer_user).post(f"/inbox/{item.pk}/decide/", {"decision": "approve"})
    assert response.status_code == 403
    assert REFUSED in html_lib.unescape(response.content.decode())


def test_a_bulk_decision_skips_the_item_saying_it(item, engineer_user):
    result = items_decide_bulk(item_ids=[item.pk], actor=engineer_user, decision="approve")
    assert (result.decided, result.skipped) == ([], [(item.pk, REFUSED)])


@pytest.mark.parametrize(("group", "who"), [
    ("reviewer", "members of the 'reviewer' group and admins"),
    ("compliance", "admins"),  # compliance only reads: an item naming it is decided by admins
])
def test_the_item_page_names_the_same_people(client_for, item, compliance_user, group, who):
    ReviewItem.objects.filter(pk=item.pk).update(reviewer_group=group)

    page = html_lib.unescape(client_for(compliance_user).get(f"/inbox/{item.pk}/").content.decode())

    assert f"Only {who} decide this item. You can read it." in page


def test_an_item_only_admins_decide_is_refused_saying_so(item, engineer_user):
    ReviewItem.objects.filter(pk=item.pk).update(kind="budget_exceeded")
    with pytest.raises(CommandError, match=r"^engineer may not decide this item: only admins may\.$"):
        call_command("runs", "resume", item.run.thread_id, "--approve", "--actor", engineer_user.username,
                     stdout=StringIO())
