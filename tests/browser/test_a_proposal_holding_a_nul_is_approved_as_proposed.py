"""In Chromium: a proposal whose note a model wrote with a NUL in it is approved with a plain Approve.
A browser cannot send a NUL back: its parser turns the one in the edit box into U+FFFD, which the box
then sends with every decision, so the approval was refused as "You changed Note" although the reviewer
changed nothing (and could not put the NUL back), and an edit of another field replaced the NUL unasked."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from orchestrator.executor import run_advance
from orchestrator.services import run_start
from review.models import ReviewItem
from tests.fakes.fixtures import fake_llm  # noqa: F401  (fixture)

NOTE = "Pay ap@supp\x00lier.example today."


@pytest.fixture
def drafted_item(transactional_db, register_workflows, fake_llm):  # noqa: F811
    register_workflows("tests.review.graphs_drafted")
    fake_llm.reply_text = NOTE
    run = run_start(workflow="drafted_payment", input={})
    assert run_advance(run.pk, worker="test") == "suspended"
    return ReviewItem.objects.get(run=run)


def test_a_plain_approval_carries_out_the_note_with_its_nul(page, login_as, reviewer_user, drafted_item):
    login_as(page, reviewer_user)
    page.goto(f"/inbox/{drafted_item.pk}/")
    expect(page.get_by_test_id("hidden-chars-warning")).to_contain_text("U+0000 NULL")

    page.get_by_role("button", name="Approve", exact=True).click()

    page.wait_for_url("**/inbox/")
    item = ReviewItem.objects.get(pk=drafted_item.pk)
    assert (item.status, item.decision, item.edits) == ("decided", "approve", None)


def test_an_edit_of_another_field_leaves_the_nul_where_it_was(page, login_as, reviewer_user, drafted_item):
    login_as(page, reviewer_user)
    page.goto(f"/inbox/{drafted_item.pk}/")
    page.get_by_role("heading", name="Edit, then approve").click()
    page.locator("#arg-payee").fill("ap@supplier.example.org")

    page.get_by_role("button", name="Approve with these edits").click()

    page.wait_for_url("**/inbox/")
    item = ReviewItem.objects.get(pk=drafted_item.pk)
    assert (item.decision, item.edits) == ("edit", {"payee": "ap@supplier.example.org"})
