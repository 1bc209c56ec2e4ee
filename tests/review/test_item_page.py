"""The item page reads as a form a person reads, and its POSTs decide (inline errors, 409 for a second decision)."""

from __future__ import annotations

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext

from orchestrator.models import Run
from review.models import ReviewItem
from review.services import DecisionInput, review_decide


def test_the_item_page_shows_the_proposal_context_changes_and_spend(email_item, reviewer_user, client_for):
    item = email_item(to="cfo@example.com", topic="Q3 numbers")

    page = client_for(reviewer_user).get(f"/inbox/{item.pk}/")

    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-arg="to"' in html and 'data-arg="body"' in html  # labelled fields, not raw JSON
    assert "<strong>cfo@example.com</strong>" in html  # description rendered as markdown
    assert "What changed in draft (step 1)" in html and "<code>body</code>" in html
    assert "Relevant state" in html and "Q3 numbers" in html
    run = Run.objects.get(pk=item.run_id)
    assert f"{run.input_tokens + run.output_tokens} <span" in html
    assert "Open the run timeline" not in html  # reviewers may not open run pages (a link would answer 403)
    assert 'name="arg-to"' in html and 'name="arg-body"' in html  # the edit form, from the schema


def test_approving_from_the_page_redirects_to_the_inbox_with_a_confirmation(email_item, reviewer_user, client_for):
    item = email_item()
    client = client_for(reviewer_user)

    response = client.post(f"/inbox/{item.pk}/decide/", {"decision": "approve"}, follow=True)

    assert response.redirect_chain[-1][0] == "/inbox/"
    assert f"Approved #{item.pk}" in response.content.decode()
    assert ReviewItem.objects.get(pk=item.pk).decided_by == reviewer_user


def test_rejecting_without_a_reason_shows_the_error_next_to_the_field(email_item, reviewer_user, client_for):
    item = email_item()

    response = client_for(reviewer_user).post(f"/inbox/{item.pk}/decide/", {"decision": "reject", "reason": ""})

    assert response.status_code == 422
    assert "Say why you reject this." in response.content.decode()
    assert ReviewItem.objects.get(pk=item.pk).status == "pending"


def test_an_invalid_edit_is_shown_inline_with_the_typed_value_kept_and_highlighted(email_item, reviewer_user,
                                                                                  client_for):
    item = email_item()
    args = {"arg-to": "not-an-email", "arg-subject": "About Q3 numbers", "arg-body": "Hello\r\nthere"}

    response = client_for(reviewer_user).post(f"/inbox/{item.pk}/decide/", {"decision": "edit", **args})

    html = response.content.decode()
    assert response.status_code == 422
    assert 'data-testid="error-to"' in html and "Doesn&#x27;t have the expected form" in html
    assert 'value="not-an-email"' in html
    assert html.count("edit-field changed") == 2  # `to` and `body` differ from the proposal; subject does not
    assert ReviewItem.objects.get(pk=item.pk).status == "pending"


def test_a_valid_edit_is_applied_with_crlf_normalised(email_item, reviewer_user, client_for):
    item = email_item()

    client_for(reviewer_user).post(f"/inbox/{item.pk}/decide/", {
        "decision": "edit", "arg-to": "ceo@example.com", "arg-body": "Line one\r\nLine two",
    })

    decided = ReviewItem.objects.get(pk=item.pk)
    assert decided.decision == "edit"
    assert decided.edits == {"to": "ceo@example.com", "body": "Line one\nLine two"}


def test_responding_needs_text(email_item, reviewer_user, client_for):
    item = email_item()
    client = client_for(reviewer_user)

    refused = client.post(f"/inbox/{item.pk}/decide/", {"decision": "respond", "response": " "})
    assert refused.status_code == 422 and "Write a response." in refused.content.decode()

    client.post(f"/inbox/{item.pk}/decide/", {"decision": "respond", "response": "Shorter please"})
    assert ReviewItem.objects.get(pk=item.pk).response == "Shorter please"


def test_a_second_decision_on_the_page_says_who_decided_and_when(email_item, reviewer_user, reviewer2_user,
                                                                client_for):
    item = email_item()
    review_decide(item=item, actor=reviewer2_user, decision=DecisionInput("approve"))

    response = client_for(reviewer_user).post(f"/inbox/{item.pk}/decide/", {"decision": "reject", "reason": "x"})

    assert response.status_code == 409
    assert "already decided (approve) by Rowan Reviewer at" in response.content.decode()
    assert ReviewItem.objects.get(pk=item.pk).decision == "approve"


def test_the_page_shows_four_eyes_progress(payment_item, reviewer_user, reviewer2_user, client_for):
    item = payment_item(approvals=2)
    review_decide(item=item, actor=reviewer_user, decision=DecisionInput("approve"))

    mine = client_for(reviewer_user).get(f"/inbox/{item.pk}/").content.decode()
    theirs = client_for(reviewer2_user).get(f"/inbox/{item.pk}/").content.decode()

    assert "1 of 2 approvals" in mine and "You approved this item" in mine
    assert "Approve (2 of 2)" in theirs


def test_a_claim_by_someone_else_shows_who_and_offers_a_takeover(email_item, reviewer_user, reviewer2_user,
                                                                client_for):
    item = email_item()
    client_for(reviewer_user).post(f"/inbox/{item.pk}/claim/")

    page = client_for(reviewer2_user).get(f"/inbox/{item.pk}/").content.decode()
    assert "Claimed by <strong>Riley Reviewer</strong>" in page and "Take over (recorded)" in page

    client_for(reviewer2_user).post(f"/inbox/{item.pk}/claim/", {"takeover": "1"})
    assert ReviewItem.objects.get(pk=item.pk).claimed_by == reviewer2_user


def test_what_a_reviewer_typed_stays_in_view_when_someone_else_claimed_the_item(email_item, reviewer_user,
                                                                                reviewer2_user, client_for):
    item = email_item()
    client_for(reviewer_user).post(f"/inbox/{item.pk}/claim/")

    page = client_for(reviewer2_user).post(f"/inbox/{item.pk}/decide/", {
        "decision": "edit", "arg-to": "ceo@example.com", "arg-subject": "About Q3 numbers", "arg-body": "Hi"})

    html = page.content.decode()
    assert page.status_code == 422 and "Claimed by Riley Reviewer until" in html
    assert 'data-testid="unsent-input"' in html and "ceo@example.com" in html
    assert ReviewItem.objects.get(pk=item.pk).status == "pending"


def test_what_a_reviewer_typed_stays_in_view_when_someone_decided_first(email_item, reviewer_user, reviewer2_user,
                                                                        client_for):
    item = email_item()
    client_for(reviewer_user).post(f"/inbox/{item.pk}/decide/", {"decision": "approve"})

    page = client_for(reviewer2_user).post(f"/inbox/{item.pk}/decide/",
                                           {"decision": "reject", "reason": "the figures are not final"})

    html = page.content.decode()
    assert page.status_code == 409 and "already decided" in html
    assert 'data-testid="unsent-input"' in html and "the figures are not final" in html


def test_an_llm_draft_with_markup_is_escaped_and_markdown_is_sanitized(payment_item, reviewer_user, client_for):
    hostile = '<script>alert("x")</script><img src=x onerror="alert(1)"> [click](javascript:alert(2))'
    item = payment_item(memo=hostile)

    html = client_for(reviewer_user).get(f"/inbox/{item.pk}/").content.decode()

    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


def test_an_oversized_form_is_refused_saying_the_limit_and_nothing_is_decided(email_item, reviewer_user, client_for,
                                                                               settings):
    settings.GATEHOUSE_FORM_MAX_BYTES = 8192
    item = email_item()
    page = client_for(reviewer_user).post(f"/inbox/{item.pk}/decide/", {"decision": "reject", "reason": "x" * 20_000})
    assert page.status_code == 400
    assert "larger than the 8.0\xa0KB a request may carry, so nothing was saved. Go back" in page.content.decode()
    assert ReviewItem.objects.get(pk=item.pk).status == "pending"


def test_the_status_poll_brings_new_decision_panels_only_once_the_item_moved_on(email_item, reviewer_user,
                                                                                 reviewer2_user, client_for):
    item = email_item()
    client = client_for(reviewer2_user)
    seen = re.search(r"status/\?seen=([^\"&]+)", client.get(f"/inbox/{item.pk}/").content.decode()).group(1)

    with CaptureQueriesContext(connection) as queries:
        unchanged = client.get(f"/inbox/{item.pk}/status/?seen={seen}").content.decode()
    assert "hx-swap-oob" not in unchanged and "Waiting for a decision" in unchanged
    # Every open item page asks every 5 s: while nothing moved, the run's states and decisions are not read.
    assert not [q["sql"] for q in queries.captured_queries if "orchestrator_checkpoint" in q["sql"]
                or "review_reviewdecision" in q["sql"]]

    review_decide(item=item, actor=reviewer_user, decision=DecisionInput("approve"))
    moved_on = client.get(f"/inbox/{item.pk}/status/?seen={seen}").content.decode()
    assert '<aside id="item-side" class="item-side" hx-swap-oob="true">' in moved_on
    assert "Nothing is left to decide" in moved_on and 'id="approve-form"' not in moved_on
    assert '<span class="pill pill-queued">queued</span>' in moved_on  # the run card, refreshed
    assert "hx-trigger" not in moved_on  # a decided item stops polling


def test_links_on_the_item_page_lead_only_where_the_role_may_go(email_item, reviewer_user, engineer_user,
                                                                compliance_user, admin_user, client_for):
    item = email_item()
    timeline = f'href="/runs/{item.run.thread_id}/"'

    def page(user) -> str:
        return client_for(user).get(f"/inbox/{item.pk}/").content.decode()

    reviewer, engineer, compliance, admin = (page(u) for u in (reviewer_user, engineer_user, compliance_user,
                                                               admin_user))
    assert timeline not in reviewer and '<a href="/inbox/">← Inbox</a>' in reviewer
    assert timeline in engineer and '<a href="/inbox/">← Inbox</a>' in engineer
    assert timeline not in compliance and '<a href="/audit/decisions/">← Decision log</a>' in compliance
    assert timeline in admin and '<a href="/inbox/">← Inbox</a>' in admin
    for user in (reviewer_user, engineer_user, compliance_user, admin_user):  # every link shown opens
        client = client_for(user)
        for url in set(re.findall(r'<a href="(/(?:runs|inbox|audit)/[^"]*)"', page(user))):
            assert client.get(url).status_code == 200, (user.username, url)
