"""A bulk decision the inbox refuses (a rejection without a reason, nothing selected) shows the same
list again with the same items ticked and the reason as typed, instead of a redirect that clears
them; the filters the list was showing come along."""

from __future__ import annotations

import re

from review.models import ReviewItem
from tests.review.fixtures import email_item  # noqa: F401  (fixture)


def _ticked(page: str) -> set[int]:
    return {int(pk) for pk in re.findall(r'<input type="checkbox" name="ids" value="(\d+)"[^>]* checked>', page)}


def test_a_rejection_without_reason_keeps_the_ticked_items(email_item, reviewer_user, client_for):  # noqa: F811
    first, second, third = email_item(), email_item(topic="rollout"), email_item(topic="budget")

    response = client_for(reviewer_user).post("/inbox/bulk/", {"ids": [first.pk, third.pk], "decision": "reject",
                                                               "reason": "  "})

    page = response.content.decode()
    assert response.status_code == 422
    assert "A bulk rejection needs a reason: it is recorded on every item." in page
    assert "The items you selected are still ticked below." in page
    assert _ticked(page) == {first.pk, third.pk}
    assert f'value="{second.pk}" aria-label="Select item {second.pk}">' in page  # listed, not ticked
    assert 'name="reason" value="  "' in page and 'aria-invalid="true"' in page
    assert set(ReviewItem.objects.values_list("status", flat=True)) == {"pending"}


def test_the_list_keeps_its_filters(email_item, reviewer_user, client_for):  # noqa: F811
    shown, hidden = email_item(), email_item()
    client = client_for(reviewer_user)
    query = f"q={shown.run.thread_id}"

    listing = client.get(f"/inbox/?{query}").content.decode()
    assert f'action="/inbox/bulk/?{query}"' in listing  # the form carries the filter

    page = client.post(f"/inbox/bulk/?{query}", {"ids": [shown.pk], "decision": "reject"}).content.decode()
    assert _ticked(page) == {shown.pk} and f'data-item="{hidden.pk}"' not in page
    assert f'name="q" value="{shown.run.thread_id}"' in page
    assert f'hx-get="/inbox/?{query}"' in page  # the rows' refresh asks the inbox, not the bulk endpoint

    done = client.post(f"/inbox/bulk/?{query}", {"ids": [shown.pk], "decision": "reject", "reason": "stale"})
    assert done.status_code == 302 and done["Location"] == f"/inbox/?{query}"
    assert ReviewItem.objects.get(pk=shown.pk).decision == "reject"


def test_enter_in_the_reason_box_cannot_approve_the_selection(email_item, reviewer_user, client_for):  # noqa: F811
    email_item()
    page = client_for(reviewer_user).get("/inbox/").content.decode()
    form = page[page.index('id="bulk-form"'):]
    # The first submit button of a form is the one Enter presses; a disabled one makes Enter do nothing.
    assert re.search(r"<button[^>]*>", form).group(0) == (
        '<button type="submit" disabled hidden aria-hidden="true" tabindex="-1">')
