"""The inbox API's `next` can be put into a URL as it is: it holds no "+" (a UTC time ends in "Z"), which a
query string a client did not encode reads as a space. Before, `next` ended its time in "+00:00", and a bot
that pasted it after `?after=` was told "the page link is damaged"."""

from __future__ import annotations


def test_a_next_pasted_unencoded_reads_the_next_page(email_item, reviewer_user, client_for):
    items = [email_item(topic=f"t{i}") for i in range(5)]
    client = client_for(reviewer_user)

    seen, url = [], "/api/items?limit=2"
    for _ in range(len(items)):
        page = client.get(url)
        assert page.status_code == 200, page.content
        seen += [row["id"] for row in page.json()["items"]]
        if page.json()["next"] is None:
            break
        assert "+" not in page.json()["next"]
        url = f"/api/items?limit=2&after={page.json()['next']}"  # not URL-encoded, as a hurried client writes it
    assert seen == [i.pk for i in reversed(items)]
