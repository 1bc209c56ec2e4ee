"""A query parameter an endpoint does not take is refused (422) naming it and the parameters the endpoint
takes, as a body key it does not take is; so is a parameter it takes once sent more than once. Before,
ninja dropped both without a word: `GET /api/runs/{id}/state?stp=1` answered the latest state as if no step
had been asked for, `?step=1&step=2` answered step 2, and `POST /api/runs/{id}/cancel?reason=…` cancelled
the run without its reason. No parameter is accepted beyond an endpoint's own: the docs page's
"Try it out" sends only those."""

from __future__ import annotations

import re

from orchestrator.models import Run, RunStatus
from review.models import ItemStatus, ReviewItem


def _untouched(run: Run) -> None:
    assert Run.objects.get(pk=run.pk).status == RunStatus.SUSPENDED
    assert ReviewItem.objects.get(run=run).status == ItemStatus.PENDING


def test_a_misspelt_parameter_is_a_422_naming_it_and_the_one_taken(api, engineer_user, waiting):
    response = api(engineer_user).get(f"/api/runs/{waiting.thread_id}/state?stp=1")

    assert response.status_code == 422
    assert response.json() == {
        "detail": "the request was not accepted: ?stp: is not a parameter of this endpoint; it takes step. Correct "
                  "it and send it again; nothing was done.",
        "fields": {"?stp": "is not a parameter of this endpoint; it takes step"}}


def test_a_parameter_sent_twice_is_a_422_not_the_last_of_them(api, engineer_user, waiting):
    response = api(engineer_user).get(f"/api/runs/{waiting.thread_id}/state?step=1&step=2")

    assert response.status_code == 422
    assert response.json()["fields"] == {"?step": "is sent 2 times; send it once"}


def test_a_misspelt_parameter_is_named_beside_the_required_one_it_was_meant_to_be(api, engineer_user, waiting):
    response = api(engineer_user).get(f"/api/runs/{waiting.thread_id}/diff?form=0&to=1")

    assert response.status_code == 422
    assert response.json()["fields"] == {"?from": "is required",
                                         "?form": "is not a parameter of this endpoint; it takes from, to"}


def test_a_body_field_sent_in_the_query_is_refused_and_the_run_is_not_cancelled(api, engineer_user, waiting):
    response = api(engineer_user).post(f"/api/runs/{waiting.thread_id}/cancel?reason=wrong+customer", "{}",
                                       content_type="application/json")

    assert response.status_code == 422
    assert response.json()["fields"] == {
        "?reason": "is not a parameter of this endpoint, which takes none: send its fields in the JSON body"}
    _untouched(waiting)


def test_an_endpoint_without_parameters_says_it_takes_none(api, reviewer_user, waiting):
    item = ReviewItem.objects.get(run=waiting)

    response = api(reviewer_user).get(f"/api/items/{item.pk}?verbose=1")

    assert response.status_code == 422
    assert response.json()["fields"] == {"?verbose": "is not a parameter of this endpoint, which takes none"}


def test_an_inbox_filter_sent_twice_is_refused(api, reviewer_user, waiting):
    response = api(reviewer_user).get("/api/items?scope=mine&scope=overdue&risk=high")

    assert response.status_code == 422
    assert response.json()["fields"] == {"?scope": "is sent 2 times; send it once"}


def test_a_caller_without_the_role_gets_the_403_whatever_the_query(api, reviewer_user, waiting):
    response = api(reviewer_user).get(f"/api/runs/{waiting.thread_id}/state?stp=1")

    assert response.status_code == 403 and "fields" not in response.json()


def test_every_endpoint_in_the_schema_refuses_a_parameter_it_does_not_take_and_documents_its_refusal(
        api, client_for, admin_user, waiting):
    item = ReviewItem.objects.get(run=waiting)
    schema = client_for(admin_user).get("/api/schema").json()
    values = {"thread_id": waiting.thread_id, "pk": str(item.pk), "sha": "0" * 64}
    client = api(admin_user)
    checked = []

    for path, operations in schema["paths"].items():
        url = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path) + "?zzz=1"
        for method, operation in operations.items():
            response = (client.get(url) if method == "get"
                        else client.generic(method.upper(), url, "{}", content_type="application/json"))

            assert response.status_code == 422, (method, path, response.content)
            assert response.json()["fields"]["?zzz"].startswith("is not a parameter of this endpoint"), (method, path)
            refusal = operation["responses"]["422"]["content"]["application/json"]["schema"]
            assert schema["components"]["schemas"][refusal["$ref"].rsplit("/", 1)[1]]["required"] == ["detail",
                                                                                                   "fields"]
            checked.append(f"{method.upper()} {path}")

    assert {"GET /api/runs/{thread_id}/state", "POST /api/runs", "GET /api/items", "GET /api/blobs/{sha}",
            "POST /api/items/bulk"} <= set(checked)
    _untouched(waiting)
