"""An id or a search the database cannot hold is answered like any unknown one, not with a server error:
a NUL character (%00) in a thread id, a blob's name or the inbox's search (PostgreSQL refuses a NUL in a
query), and a thread id that str.isdigit() took for a database id although int() refuses it ("²", 5,000
digits). A fullwidth "１" no longer names the run whose database id is 1."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("thread_id", ["%00", "a%00b", "²", "1" * 5000])
@pytest.mark.parametrize("suffix", ["", "/state", "/checkpoints"])
def test_a_thread_id_no_run_can_have_is_a_404_like_any_unknown_one(api, engineer_user, reviewer_user, thread_id,
                                                                   suffix):
    for user in (engineer_user, reviewer_user):
        response = api(user).get(f"/api/runs/{thread_id}{suffix}")
        if user is reviewer_user and suffix:
            assert response.status_code == 403  # before any lookup, whatever the run
            continue
        assert response.status_code == 404 and response.json()["detail"].startswith("no run with thread id"), \
            response.content


def test_a_write_to_a_thread_id_holding_a_nul_is_a_404(api, admin_user):
    for action, body in (("cancel", {}), ("retry", {}), ("fork", {"at_step": 0}), ("decision", {"decision": "approve"})):
        response = api(admin_user).post(f"/api/runs/a%00/{action}", body, content_type="application/json")
        assert response.status_code == 404 and "no run with thread id 'a\\x00'" in response.json()["detail"]


def test_a_fullwidth_number_is_not_a_database_id(api, engineer_user, waiting):
    fullwidth = "".join(chr(ord(digit) + 0xFEE0) for digit in str(waiting.pk))

    assert api(engineer_user).get(f"/api/runs/{waiting.pk}").status_code == 200
    assert api(engineer_user).get(f"/api/runs/{fullwidth}").status_code == 404


def test_a_blob_name_holding_a_nul_is_a_404(api, engineer_user):
    response = api(engineer_user).get("/api/blobs/ab%00cd")

    assert response.status_code == 404 and "use the sha256 of a state value's" in response.json()["detail"]


@pytest.mark.parametrize(("query", "name"), [("q=inv%00oice", "q"), ("workflow=email%00", "workflow")])
def test_an_inbox_search_holding_a_nul_is_a_422_naming_it(api, reviewer_user, waiting, query, name):
    response = api(reviewer_user).get(f"/api/items?{query}")

    assert response.status_code == 422
    assert response.json() == {
        "detail": f"the request was not accepted: ?{name}: may not contain the NUL character (%00). Correct it and "
                  "send it again; nothing was done.",
        "fields": {f"?{name}": "may not contain the NUL character (%00)"}}
