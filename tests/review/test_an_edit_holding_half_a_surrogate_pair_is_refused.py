"""An edit whose text holds half of a UTF-16 surrogate pair (a JSON box's "\\ud800" with no partner, which
Python's JSON reader passes) is refused on its box, or naming its key path, and nothing is decided or
forked: it is not a character, PostgreSQL refuses it in the decision's JSON, and the item page answered with
a 500 (it could not show the value back either)."""

from __future__ import annotations

from review.models import ReviewDecision, ReviewItem
from tests.review.fixtures import outreach_item  # noqa: F401  (fixture)

SAID = ("Email.subject: the text holds half of a UTF-16 surrogate pair (such as \\ud800), which is not a character; "
        "type whole characters, then try again. Nothing was changed.")


def test_the_item_page_refuses_it_and_decides_nothing(outreach_item, reviewer_user, client_for):  # noqa: F811
    item = outreach_item()
    response = client_for(reviewer_user).post(f"/inbox/{item.pk}/decide/", {
        "decision": "edit", "arg-email": '{"subject": "Q3 \\ud800", "body": "", "cc": ["cfo@example.com"]}'})

    page = response.content.decode()
    assert response.status_code == 422
    assert ("Holds half of a UTF-16 surrogate pair (such as \\ud800), which is not a character; type whole "
            "characters, or restore the original.") in page  # on its box, which keeps what was typed
    assert "Q3 \\ud800" in page
    assert ReviewItem.objects.get(pk=item.pk).status == "pending" and not ReviewDecision.objects.exists()


def test_the_fork_form_refuses_it_and_forks_nothing(outreach_item, engineer_user, client_for):  # noqa: F811
    item = outreach_item()
    response = client_for(engineer_user).post(f"/runs/{item.run.thread_id}/checkpoints/0/fork/", {
        "mode": "recorded", "field_email": '{"subject": "Q3 \\ud800", "body": "", "cc": []}'})

    assert response.status_code == 422
    assert SAID in response.content.decode()
    assert not item.run.__class__.objects.filter(parent=item.run).exists()
