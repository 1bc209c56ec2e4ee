"""The inbox page: pending items of my groups with filters, search, keyset pages, the htmx rows and the badge."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from review.claims import item_claim
from review.models import ReviewItem
from review.services import DecisionInput, review_decide


def _rows(response) -> list[int]:
    import re

    return [int(pk) for pk in re.findall(r'data-item="(\d+)"', response.content.decode())]


def test_the_inbox_lists_pending_items_newest_first_with_what_a_reviewer_needs(email_item, reviewer_user,
                                                                             client_for):
    older, newer = email_item(to="cfo@example.com"), email_item(to="ops@example.com", topic="outage")
    ReviewItem.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(hours=3))

    page = client_for(reviewer_user).get("/inbox/")

    assert page.status_code == 200
    assert _rows(page) == [newer.pk, older.pk]
    html = page.content.decode()
    assert "Send email" in html and "email_approval" in html and "high" in html
    assert "to: ops@example.com" in html  # the arguments at a glance
    assert "3\xa0hours" in html  # age
    assert "due in" in html
    assert "unassigned" in html


def test_decided_items_leave_the_inbox(email_item, reviewer_user, client_for):
    item = email_item()
    review_decide(item=item, actor=reviewer_user, decision=DecisionInput("approve"))

    page = client_for(reviewer_user).get("/inbox/")

    assert _rows(page) == []
    assert "Nothing is waiting for you" in page.content.decode()


def test_filters_narrow_by_workflow_assignee_overdue_and_risk(email_item, payment_item, reviewer_user,
                                                              reviewer2_user, client_for):
    mail_item, pay_item, claimed = email_item(), payment_item(), email_item(topic="claimed")
    item_claim(item=claimed, actor=reviewer_user)
    ReviewItem.objects.filter(pk=mail_item.pk).update(due_at=timezone.now() - timedelta(minutes=5))
    client = client_for(reviewer_user)

    assert _rows(client.get("/inbox/?workflow=payment")) == [pay_item.pk]
    assert _rows(client.get("/inbox/?scope=mine")) == [claimed.pk]
    assert set(_rows(client.get("/inbox/?scope=unassigned"))) == {mail_item.pk, pay_item.pk}
    overdue = client.get("/inbox/?scope=overdue")
    assert _rows(overdue) == [mail_item.pk] and "overdue by" in overdue.content.decode()
    assert _rows(client.get("/inbox/?risk=critical")) == [pay_item.pk]
    assert _rows(client_for(reviewer2_user).get("/inbox/?scope=mine")) == []


def test_search_finds_a_thread_id_or_text_in_the_request(email_item, reviewer_user, client_for):
    cfo, ops = email_item(to="cfo@example.com"), email_item(to="ops@example.com")
    client = client_for(reviewer_user)

    assert _rows(client.get(f"/inbox/?q={ops.run.thread_id}")) == [ops.pk]
    assert _rows(client.get("/inbox/?q=cfo@example")) == [cfo.pk]
    empty = client.get("/inbox/?q=nothing-like-this")
    assert "No pending items match these filters" in empty.content.decode()


def test_pages_follow_a_keyset_cursor_without_repeats(email_item, reviewer_user, client_for, monkeypatch):
    from review import selectors

    monkeypatch.setattr(selectors.inbox_page, "__kwdefaults__", {"size": 2})
    items = [email_item(topic=f"t{i}") for i in range(5)]
    client = client_for(reviewer_user)

    seen, query = [], {}
    for _ in range(len(items)):
        page = client.get("/inbox/", query)
        seen += _rows(page)
        if not page.context["page"].next_cursor:
            break
        query = {"after": page.context["page"].next_cursor}
        assert 'rel="next"' in page.content.decode()
    assert seen == [i.pk for i in reversed(items)]


def test_a_damaged_page_link_says_what_to_do(reviewer_user, client_for):
    page = client_for(reviewer_user).get("/inbox/?after=garbage")

    assert page.status_code == 400
    assert "go back to the first page" in page.content.decode()


def test_the_htmx_poll_returns_only_the_rows_fragment(email_item, reviewer_user, client_for):
    item = email_item()

    rows = client_for(reviewer_user).get("/inbox/", headers={"HX-Request": "true", "HX-Target": "inbox-rows"})

    html = rows.content.decode()
    assert html.lstrip().startswith("<tbody") and "<html" not in html
    assert _rows(rows) == [item.pk]


def test_the_nav_badge_counts_my_pending_items(email_item, payment_item, reviewer_user, engineer_user, client_for):
    email_item(), email_item(topic="two"), payment_item(group="legal")

    assert client_for(reviewer_user).get("/inbox/count/").content == b"2"
    assert client_for(engineer_user).get("/inbox/count/").content == b""


def test_an_engineer_s_inbox_lists_the_loop_guards_of_their_group_and_nothing_else(email_item, engineer_user,
                                                                                    reviewer_user, client_for):
    guard, gate = email_item(topic="loops"), email_item()
    ReviewItem.objects.filter(pk=guard.pk).update(kind="loop_guard", reviewer_group="engineer")
    engineer = client_for(engineer_user)

    assert _rows(engineer.get("/inbox/")) == [guard.pk]
    assert engineer.get("/inbox/count/").content == b"1"
    assert 'data-section="inbox"' in engineer.get("/runs/").content.decode()  # reachable from the navigation
    assert _rows(client_for(reviewer_user).get("/inbox/")) == [gate.pk]
