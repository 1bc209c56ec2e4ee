"""A method an endpoint does not take is a JSON 405 naming the methods it does (ninja's was the text
"Method not allowed"), and a path under /api/ that no endpoint has is a JSON 404 pointing to /api/docs
(Django's was the site's HTML page, e.g. for /api/items/abc or a thread id holding a "/"). Both come
after the same credentials check as the endpoints: an anonymous caller learns nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from orchestrator.models import Run, RunStatus


@pytest.mark.parametrize(("method", "suffix", "allowed"), [("get", "/cancel", "POST"), ("delete", "", "GET"),
                                                             ("put", "/fork", "POST"), ("post", "/state", "GET")])
def test_a_method_the_endpoint_does_not_take_is_a_json_405_naming_those_it_does(api, engineer_user, waiting, method,
                                                                               suffix, allowed):
    url = f"/api/runs/{waiting.thread_id}{suffix}"

    response = getattr(api(engineer_user), method)(url)

    assert response.status_code == 405 and response["Allow"] == allowed
    assert response.json()["detail"] == (f"{method.upper()} is not a method of {url}: it takes {allowed}; "
                                         "/api/docs lists each endpoint's methods.")
    assert Run.objects.get(pk=waiting.pk).status == RunStatus.SUSPENDED


@pytest.mark.parametrize("url", ["/api/", "/api/nope", "/api/items/abc", "/api/runs/a%2Fb", "/api/runs/x/nope"])
def test_a_path_no_endpoint_has_is_a_json_404_pointing_to_the_docs(api, engineer_user, url):
    response = api(engineer_user).get(url)

    assert response.status_code == 404 and response["Content-Type"].startswith("application/json")
    assert response.json()["detail"].startswith("no API endpoint has the path /api/")
    assert "/api/docs lists them" in response.json()["detail"]


def test_an_anonymous_caller_of_a_path_no_endpoint_has_is_a_401_like_at_the_endpoints(db):
    for response in (Client(enforce_csrf_checks=True).post("/api/nope", {}, content_type="application/json"),
                     Client(HTTP_AUTHORIZATION="Bearer gh_wrong").get("/api/items/abc")):
        assert response.status_code == 401
        assert response.json()["detail"].startswith("no valid credentials")
