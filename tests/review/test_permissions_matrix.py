"""Each role × each action, on the pages and the JSON API alike (see the table in review/permissions.py)."""

from __future__ import annotations

import json

import pytest

from review.models import ReviewItem

PERSONAS = ["reviewer_user", "engineer_user", "compliance_user", "admin_user", "outsider_user"]
DECIDERS = {"reviewer_user", "admin_user"}  # of this reviewer-group item
READERS = {"reviewer_user", "engineer_user", "compliance_user", "admin_user"}
INBOX_USERS = DECIDERS | {"engineer_user"}  # engineers' inboxes list their own groups' items

# action -> (method, url template, data, is it a decision?)
PAGE_ACTIONS = {
    "open the inbox": ("get", "/inbox/", None, "inbox"),
    "read the item": ("get", "/inbox/{pk}/", None, "read"),
    "claim": ("post", "/inbox/{pk}/claim/", {}, "decide"),
    "approve": ("post", "/inbox/{pk}/decide/", {"decision": "approve"}, "decide"),
    "reject": ("post", "/inbox/{pk}/decide/", {"decision": "reject", "reason": "no"}, "decide"),
    "edit then approve": ("post", "/inbox/{pk}/decide/", {"decision": "edit", "arg-to": "x@example.org"}, "decide"),
    "respond": ("post", "/inbox/{pk}/decide/", {"decision": "respond", "response": "shorter"}, "decide"),
    "bulk approve": ("post", "/inbox/bulk/", {"decision": "approve", "ids": "{pk}"}, "bulk"),
}
API_ACTIONS = {
    "list": ("get", "/api/items", None, "inbox"),
    "read": ("get", "/api/items/{pk}", None, "read"),
    "claim": ("post", "/api/items/{pk}/claim", {}, "decide"),
    "approve": ("post", "/api/items/{pk}/decision", {"decision": "approve"}, "decide"),
    "reject": ("post", "/api/items/{pk}/decision", {"decision": "reject", "reason": "no"}, "decide"),
    "edit": ("post", "/api/items/{pk}/decision", {"decision": "edit", "edits": {"to": "x@example.org"}}, "decide"),
    "respond": ("post", "/api/items/{pk}/decision", {"decision": "respond", "response": "shorter"}, "decide"),
    "bulk": ("post", "/api/items/bulk", {"decision": "approve", "ids": ["{pk}"]}, "bulk"),
}


def _allowed(persona: str, need: str) -> bool:
    # Bulk is open to everyone with an inbox; items the person may not decide are skipped, by name.
    return persona in {"inbox": INBOX_USERS, "read": READERS, "decide": DECIDERS, "bulk": INBOX_USERS}[need]


def _fill(value, pk: int):
    if isinstance(value, str):
        return value.replace("{pk}", str(pk))
    if isinstance(value, dict):
        return {k: _fill(v, pk) for k, v in value.items()}
    if isinstance(value, list):
        return [int(_fill(v, pk)) if v == "{pk}" else _fill(v, pk) for v in value]
    return value


@pytest.mark.parametrize("action", PAGE_ACTIONS)
@pytest.mark.parametrize("persona", PERSONAS)
def test_pages_let_each_role_do_exactly_what_the_matrix_says(request, email_item, client_for, persona, action):
    user = request.getfixturevalue(persona)
    item = email_item()
    method, url, data, need = PAGE_ACTIONS[action]

    response = getattr(client_for(user), method)(_fill(url, item.pk), _fill(data, item.pk))

    if _allowed(persona, need):
        assert response.status_code in (200, 302), response.content[:300]
    else:
        assert response.status_code == 403
    changed = ReviewItem.objects.get(pk=item.pk)
    if need in ("decide", "bulk") and persona not in DECIDERS:
        assert (changed.status, changed.claimed_by) == ("pending", None)
    if action in ("approve", "reject", "edit then approve", "respond", "bulk approve") and persona in DECIDERS:
        assert changed.decided_by == user or changed.status == "decided"


@pytest.mark.parametrize("action", API_ACTIONS)
@pytest.mark.parametrize("persona", PERSONAS)
def test_the_api_applies_the_same_matrix(request, email_item, client_for, persona, action):
    user = request.getfixturevalue(persona)
    item = email_item()
    method, url, data, need = API_ACTIONS[action]
    client = client_for(user)

    if method == "get":
        response = client.get(_fill(url, item.pk))
    else:
        response = client.post(_fill(url, item.pk), json.dumps(_fill(data, item.pk)), content_type="application/json")

    assert response.status_code == (200 if _allowed(persona, need) else 403), response.content[:300]
    if need in ("decide", "bulk") and persona not in DECIDERS:
        assert ReviewItem.objects.get(pk=item.pk).status == "pending"


def test_compliance_reads_but_sees_no_decision_buttons(email_item, compliance_user, client_for):
    item = email_item()

    html = client_for(compliance_user).get(f"/inbox/{item.pk}/").content.decode()

    assert "Only members of the &#x27;reviewer&#x27; group and admins decide this item. You can read it." in html
    assert 'id="approve-form"' not in html


def test_an_engineer_decides_a_loop_guard_item_of_the_engineer_group(email_item, engineer_user, client_for):
    item = email_item()
    ReviewItem.objects.filter(pk=item.pk).update(kind="loop_guard", reviewer_group="engineer")

    response = client_for(engineer_user).post(f"/inbox/{item.pk}/decide/", {"decision": "approve"})

    assert response.status_code == 302
    assert ReviewItem.objects.get(pk=item.pk).decided_by == engineer_user


def test_a_reviewer_reads_only_the_items_of_their_groups_and_those_they_decided(email_item, reviewer_user,
                                                                               admin_user, client_for):
    from review.services import DecisionInput, review_decide

    item = email_item()
    ReviewItem.objects.filter(pk=item.pk).update(kind="budget_exceeded", reviewer_group="admin")
    reviewer = client_for(reviewer_user)
    for url in (f"/inbox/{item.pk}/", f"/inbox/{item.pk}/status/", f"/api/items/{item.pk}"):
        # An admin's budget stop shows the step's state changes; answered as an id no item has, so that
        # ids cannot be probed (test_an_item_a_reviewer_may_not_see_answers_as_if_it_did_not_exist).
        assert reviewer.get(url).status_code == 404, url

    mine = email_item()
    review_decide(item=mine, actor=reviewer_user, decision=DecisionInput("approve"))
    ReviewItem.objects.filter(pk=mine.pk).update(reviewer_group="legal")  # moved on since, say
    assert reviewer.get(f"/inbox/{mine.pk}/").status_code == 200, "what they decided stays readable"
    assert client_for(admin_user).get(f"/inbox/{item.pk}/").status_code == 200


def test_the_run_decision_api_says_nothing_to_a_caller_who_may_not_decide(email_item, make_user, client_for):
    item = email_item()
    for user in (make_user("nobody"), make_user("cora", "compliance")):
        for thread_id in (item.run.thread_id, "no-such-run"):
            response = client_for(user).post(f"/api/runs/{thread_id}/decision", {"decision": "approve"},
                                             content_type="application/json")
            assert response.status_code == 403, (user.username, thread_id, response.content)
            detail = response.json()["detail"]
            assert detail == "this needs one of the roles: reviewer, engineer, admin", detail


def test_compliance_cannot_be_named_to_decide_a_gate():
    from pydantic import ValidationError

    from orchestrator.graph import GateRequest

    for field in ("reviewer_group", "escalate_to"):
        with pytest.raises(ValidationError, match="compliance only reads"):
            GateRequest(action="pay", **{field: "compliance"})


def test_compliance_never_decides_even_an_item_stored_naming_its_group(email_item, compliance_user, client_for):
    item = email_item()
    ReviewItem.objects.filter(pk=item.pk).update(reviewer_group="compliance")  # made before the rule
    response = client_for(compliance_user).post(f"/api/items/{item.pk}/decision", {"decision": "approve"},
                                                content_type="application/json")
    assert response.status_code == 403
    assert ReviewItem.objects.get(pk=item.pk).status == "pending"


def test_a_page_open_on_an_item_escalated_away_says_so_and_drops_its_buttons(email_item, reviewer_user,
                                                                            client_for):
    item = email_item()
    client = client_for(reviewer_user)
    assert client.get(f"/inbox/{item.pk}/").status_code == 200
    ReviewItem.objects.filter(pk=item.pk).update(reviewer_group="admin", escalated_from="reviewer")

    poll = client.get(f"/inbox/{item.pk}/status/", HTTP_HX_REQUEST="true")
    html = poll.content.decode()
    assert poll.status_code == 200 and "now belongs to the <strong>admin</strong> group" in html
    assert 'id="item-side" class="item-side" hx-swap-oob="true"></aside>' in html, "no Approve button stays"
    assert "hx-trigger" not in html, "the page stops polling"
    assert client.get(f"/inbox/{item.pk}/").status_code == 403
