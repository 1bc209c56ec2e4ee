"""A NUL character pasted into a decision's reason, response or edited argument is refused naming the field
and saying to remove it, and nothing is decided: PostgreSQL stores no NUL in text, so the item page, the bulk
form and `runs resume --edit` answered with a server error (a traceback on the command line)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from review.models import ReviewDecision, ReviewItem
from tests.review.fixtures import email_item  # noqa: F401  (fixture)


@pytest.mark.parametrize(("decision", "field"), [("reject", "reason"), ("respond", "response")])
def test_the_item_page_refuses_a_reason_or_response_holding_a_nul(
        email_item, reviewer_user, client_for, decision, field):  # noqa: F811
    item = email_item()
    response = client_for(reviewer_user).post(f"/inbox/{item.pk}/decide/", {"decision": decision, field: "no\x00t"})

    page = response.content.decode()
    assert response.status_code == 422
    assert f"The {field} holds a NUL character, which cannot be stored: remove it and send the decision again." in page
    assert "Remove the NUL character (\\0) from this text." in page  # under its box
    assert ReviewItem.objects.get(pk=item.pk).status == "pending" and not ReviewDecision.objects.exists()


def test_the_item_page_refuses_an_edit_holding_a_nul(email_item, reviewer_user, client_for):  # noqa: F811
    item = email_item()
    response = client_for(reviewer_user).post(f"/inbox/{item.pk}/decide/", {
        "decision": "edit", "arg-subject": "Q3\x00 numbers"})

    page = response.content.decode()
    assert response.status_code == 422
    assert "Subject: the text holds a NUL character, which cannot be stored: remove it and try again" in page
    assert "Remove the NUL character (\\0)" in page  # on the subject box
    assert ReviewItem.objects.get(pk=item.pk).status == "pending" and not ReviewDecision.objects.exists()


def test_the_bulk_form_refuses_a_reason_holding_a_nul(email_item, reviewer_user, client_for):  # noqa: F811
    items = [email_item(), email_item()]
    response = client_for(reviewer_user).post("/inbox/bulk/", {"ids": [i.pk for i in items], "decision": "reject",
                                                                "reason": "dup\x00licate"})

    assert response.status_code == 422
    assert "The reason holds a NUL character, which cannot be stored: remove it" in response.content.decode()
    assert set(ReviewItem.objects.values_list("status", flat=True)) == {"pending"}


def test_runs_resume_refuses_an_edit_holding_a_nul(email_item, admin_user):  # noqa: F811
    item = email_item()
    with pytest.raises(CommandError, match=r"subject: the text holds a NUL character, which cannot be stored: "
                                           r"remove it and try again; nothing was decided"):
        call_command("runs", "resume", item.run.thread_id, "--edit", '{"subject": "Q3\\u0000"}', "--actor", "admin",
                     stdout=io.StringIO())
    assert ReviewItem.objects.get(pk=item.pk).status == "pending" and not ReviewDecision.objects.exists()
