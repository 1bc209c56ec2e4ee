"""Whoever started a run may not approve its items (separation of duties); the item page says who
may instead: the other active members of the item's group, and admins, by name; and when nobody
else can, it says so and what has to happen first."""

from __future__ import annotations

import re

import pytest

from orchestrator.executor import run_advance
from orchestrator.roles import ADMIN, ENGINEER, REVIEWER
from orchestrator.services import run_start
from review.models import ReviewItem


@pytest.fixture
def own_loop_guard(db, engineer_user) -> ReviewItem:
    """A loop guard (group "engineer") on a run the engineer started themselves."""
    run = run_start(workflow="research_agent", input={"question": "q", "mode": "stuck"}, actor=engineer_user)
    assert run_advance(run.pk, worker="test") == "suspended"
    item = ReviewItem.objects.get(run=run)
    assert (item.kind, item.reviewer_group) == ("loop_guard", ENGINEER)
    return item


def _note(client, item: ReviewItem) -> str:
    html = client.get(f"/inbox/{item.pk}/").content.decode()
    notes = re.findall(r'data-testid="approvers-note"><small>(.*?)</small>', html, re.S)
    assert notes, "the page does not say who may approve"
    return " ".join(re.sub(r"<[^>]+>", "", notes[0]).split())


def test_the_starter_is_told_the_other_members_and_the_admins_by_name(own_loop_guard, engineer_user, make_user,
                                                                      admin_user, client_for):
    make_user("evan", ENGINEER, first_name="Evan", last_name="Ops")
    make_user("gone", ENGINEER, first_name="Gone", last_name="Away", is_active=False)  # cannot sign in
    make_user("rita", REVIEWER, first_name="Rita", last_name="Review")  # not of the item's group

    note = _note(client_for(engineer_user), own_loop_guard)

    assert note == ("You started this run, so someone else must approve it: a member of engineer (Evan Ops) "
                    "or an admin (Alex Admin). You may still reject it.")
    assert 'id="approve-form"' not in client_for(engineer_user).get(f"/inbox/{own_loop_guard.pk}/").content.decode()


def test_when_nobody_else_may_approve_the_page_says_so_and_what_to_do(own_loop_guard, engineer_user, client_for):
    note = _note(client_for(engineer_user), own_loop_guard)

    assert note == ("You started this run, so someone else must approve it: nobody else can yet, as no other "
                    "active account is in engineer or is an admin. Someone who manages accounts must add a second "
                    "person to the engineer group (Admin → Users) before it can be approved. You may still reject it.")


def test_an_admin_who_started_the_run_is_pointed_to_the_other_admins(db, make_user, admin_user, client_for):
    boss = make_user("boss", ADMIN, first_name="Bo", last_name="Boss")
    run = run_start(workflow="research_agent", input={"question": "q", "mode": "stuck"}, actor=boss)
    run_advance(run.pk, worker="test")
    item = ReviewItem.objects.get(run=run)

    assert _note(client_for(boss), item) == ("You started this run, so someone else must approve it: an admin "
                                             "(Alex Admin). You may still reject it.")


def test_others_see_no_such_note(own_loop_guard, make_user, client_for):
    evan = make_user("evan", ENGINEER)
    assert 'data-testid="approvers-note"' not in client_for(evan).get(f"/inbox/{own_loop_guard.pk}/").content.decode()
