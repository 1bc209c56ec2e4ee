"""/api/items: the same decisions for bots, with the same refusals, as JSON."""

from __future__ import annotations

import json

from review.models import ReviewItem


def _post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def test_a_bot_lists_reads_and_edits_then_approves(email_item, reviewer_user, client_for):
    item = email_item()
    client = client_for(reviewer_user)

    listing = client.get("/api/items?workflow=email_approval").json()
    assert [row["id"] for row in listing["items"]] == [item.pk] and listing["next"] is None
    detail = client.get(f"/api/items/{item.pk}").json()
    assert detail["request"]["args"]["to"] == "cfo@example.com" and detail["may_decide"] is True

    bad = _post(client, f"/api/items/{item.pk}/decision", {"decision": "edit", "edits": {"to": "not-an-email"}})
    assert bad.status_code == 422 and "to: doesn't have the expected form" in bad.json()["detail"]

    ok = _post(client, f"/api/items/{item.pk}/decision", {"decision": "edit", "edits": {"to": "ceo@example.com"}})
    assert ok.status_code == 200 and ok.json()["status"] == "decided"
    assert ReviewItem.objects.get(pk=item.pk).edits == {"to": "ceo@example.com"}


def test_a_second_decision_through_the_api_is_a_409_naming_who_decided(email_item, reviewer_user, reviewer2_user,
                                                                       client_for):
    item = email_item()
    _post(client_for(reviewer_user), f"/api/items/{item.pk}/decision", {"decision": "approve"})

    again = _post(client_for(reviewer2_user), f"/api/items/{item.pk}/decision", {"decision": "approve"})

    assert again.status_code == 409
    assert "already decided (approve) by Riley Reviewer at" in again.json()["detail"]


def test_a_claim_held_by_someone_else_is_a_409_until_taken_over(email_item, reviewer_user, reviewer2_user,
                                                               client_for):
    item = email_item()
    _post(client_for(reviewer_user), f"/api/items/{item.pk}/claim", {})

    held = _post(client_for(reviewer2_user), f"/api/items/{item.pk}/decision", {"decision": "approve"})
    assert held.status_code == 409 and "claimed by Riley Reviewer" in held.json()["detail"]

    taken = _post(client_for(reviewer2_user), f"/api/items/{item.pk}/claim", {"takeover": True})
    assert taken.status_code == 200 and taken.json()["claimed_by"] == "reviewer2"


def test_bulk_through_the_api_reports_skipped_items(email_item, reviewer_user, client_for):
    first, second = email_item(), email_item(topic="two")
    client = client_for(reviewer_user)
    _post(client, f"/api/items/{second.pk}/decision", {"decision": "reject", "reason": "dup"})

    result = _post(client, "/api/items/bulk", {"ids": [first.pk, second.pk], "decision": "approve"}).json()

    assert result["decided"] == [first.pk]
    assert result["skipped"][0]["id"] == second.pk and "already decided (reject)" in result["skipped"][0]["why"]
