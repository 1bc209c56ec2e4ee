"""GET /api/items takes `?limit=` (1 to 200; left out, the inbox page's 25): a bot may ask for fewer items a
page, or for more, and the answer's `next` reads the following page with any limit. Before, every page held
25 items, and a bot wanting its 40 oldest pending items read two pages."""

from __future__ import annotations

import pytest

from review.selectors import PAGE_SIZE


def test_a_small_limit_pages_through_every_item_once_newest_first(email_item, reviewer_user, api):
    items = [email_item(topic=f"t{i}") for i in range(5)]
    client = api(reviewer_user)

    pages, url = [], "/api/items?limit=2"
    while url is not None:
        page = client.get(url)
        assert page.status_code == 200, page.content
        pages.append([row["id"] for row in page.json()["items"]])
        url = f"/api/items?limit=2&after={page.json()['next']}" if page.json()["next"] else None

    newest_first = [i.pk for i in reversed(items)]
    assert pages == [newest_first[0:2], newest_first[2:4], newest_first[4:]]


def test_the_next_of_one_limit_reads_on_with_another(email_item, reviewer_user, api):
    items = [email_item(topic=f"t{i}") for i in range(4)]
    client = api(reviewer_user)

    first = client.get("/api/items?limit=1").json()
    rest = client.get(f"/api/items?after={first['next']}&limit=3").json()

    assert [row["id"] for row in first["items"] + rest["items"]] == [i.pk for i in reversed(items)]
    assert rest["next"] is None


def test_left_out_a_page_is_the_inbox_page_and_a_larger_limit_answers_more(email_item, reviewer_user, api):
    items = [email_item(topic=f"t{i}") for i in range(PAGE_SIZE + 1)]
    client = api(reviewer_user)

    default = client.get("/api/items").json()
    assert len(default["items"]) == PAGE_SIZE == 25 and default["next"]
    larger = client.get("/api/items?limit=200").json()
    assert [row["id"] for row in larger["items"]] == [i.pk for i in reversed(items)] and larger["next"] is None


@pytest.mark.parametrize("limit", ["0", "201", "-1"])
def test_a_limit_out_of_range_is_a_422_naming_it_and_the_range(reviewer_user, api, db, limit):
    response = api(reviewer_user).get(f"/api/items?limit={limit}")

    assert response.status_code == 422
    assert response.json()["fields"] == {"?limit": "must be from 1 to 200; leave it out for 25"}
    assert "?limit" in response.json()["detail"]


def test_a_limit_that_is_not_a_whole_number_is_a_422_naming_it(reviewer_user, api, db):
    response = api(reviewer_user).get("/api/items?limit=many")

    assert response.status_code == 422
    assert set(response.json()["fields"]) == {"?limit"}
    assert response.json()["fields"]["?limit"].startswith("must be a whole number")
