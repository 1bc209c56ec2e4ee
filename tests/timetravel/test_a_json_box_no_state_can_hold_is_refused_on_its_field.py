"""A JSON box (the fork form's state fields, the item page's object and list arguments) that holds what no
state can hold is refused on that box, saying what is wrong and what it takes, and nothing is forked or
decided: NaN, a whole number of more than 4,300 digits (Python refuses to read it) and nesting deeper than
Python recurses were a 500."""

from __future__ import annotations

import pytest

from orchestrator.models import Run
from review.models import ReviewDecision, ReviewItem
from tests.timetravel.conftest import no_fork_was_made

DIGITS = "1" * 5000
DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("typed", ["NaN", DIGITS, DEEP], ids=["nan", "5000-digits", "deep"])
def test_the_fork_form_marks_the_box(outreach_parent, engineer_user, client_for, typed):
    run, step = outreach_parent
    response = client_for(engineer_user).post(f"/runs/{run.thread_id}/checkpoints/{step}/fork/", {
        "mode": "recorded", "field_attempts": typed})

    page = response.content.decode()
    assert response.status_code == 422
    assert "Fix the highlighted fields: nothing was forked." in page
    assert ("not a value a state can hold (NaN, Infinity, a number of more than 4,300 digits or nesting too deep "
            "to read); a whole number, without quotes, e.g. 3") in page
    no_fork_was_made(run)


@pytest.mark.parametrize("typed", ['{"subject": ' + DIGITS + "}", DEEP], ids=["5000-digits", "deep"])
def test_the_item_page_marks_the_box(outreach_parent, reviewer_user, client_for, typed):
    run, _step = outreach_parent
    item = ReviewItem.objects.get(run=run)
    response = client_for(reviewer_user).post(f"/inbox/{item.pk}/decide/", {"decision": "edit", "arg-email": typed})

    page = response.content.decode()
    assert response.status_code == 422
    assert "Holds a number of more than 4,300 digits or nests too deeply to be read; fix it or restore the " \
           "original." in page
    assert ReviewItem.objects.get(pk=item.pk).status == "pending" and not ReviewDecision.objects.exists()
    assert Run.objects.get(pk=run.pk).status == "suspended"
