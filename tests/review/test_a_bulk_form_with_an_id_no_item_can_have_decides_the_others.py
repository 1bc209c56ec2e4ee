"""The inbox's bulk form reads an item id no item can have ("²", which str.isdigit() takes for a digit, or
5,000 digits, which int() refuses) as no id, as it reads any other text there: the items it names are
decided, and a selection of nothing else is refused as empty. Both were a 500."""

from __future__ import annotations

import pytest

from review.models import ReviewItem
from tests.review.fixtures import email_item  # noqa: F401  (fixture)


@pytest.mark.parametrize("odd", ["²", "1" * 5000])
def test_the_items_named_are_decided(email_item, reviewer_user, client_for, odd):  # noqa: F811
    item = email_item()
    response = client_for(reviewer_user).post("/inbox/bulk/", {"ids": [odd, str(item.pk)], "decision": "approve"})

    assert response.status_code == 302
    assert ReviewItem.objects.get(pk=item.pk).decision == "approve"


@pytest.mark.parametrize("odd", ["²", "1" * 5000])
def test_a_selection_of_nothing_else_is_refused_as_empty(email_item, reviewer_user, client_for, odd):  # noqa: F811
    item = email_item()
    response = client_for(reviewer_user).post("/inbox/bulk/", {"ids": [odd], "decision": "approve"})

    assert response.status_code == 422 and "Select at least one item." in response.content.decode()
    assert ReviewItem.objects.get(pk=item.pk).status == "pending"
