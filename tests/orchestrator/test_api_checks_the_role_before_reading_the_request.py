"""A caller whose role may not use an endpoint gets its 403 whatever they send: a body or query the
endpoint would refuse is not read first. Before, a 422 naming the fields at fault told a caller without
the role the endpoint's schema, and sent them to fix a request they were never allowed to make."""

from __future__ import annotations

import pytest

from orchestrator.api import api as ninja_api
from review.models import ReviewItem

# (method, path, what is wrong with it, who may not call it)
REFUSED = [
    ("post", "/api/runs", {"workflw": "email_approval"}, "reviewer"),
    ("post", "/api/runs/{run}/fork", {"at_step": "zero", "allow_effects": "yes"}, "reviewer"),
    ("post", "/api/runs/{run}/cancel", {"reson": "duplicate"}, "compliance"),
    ("post", "/api/runs/{run}/retry", {"force_version": "please"}, "reviewer"),
    ("post", "/api/runs/{run}/decision", {"decison": "approve"}, "compliance"),
    ("post", "/api/items/{item}/decision", {"decision": "approve", "reson": "ok"}, "compliance"),
    ("post", "/api/items/{item}/claim", {"takeover": "yes"}, "compliance"),
    ("post", "/api/items/bulk", {"ids": "all", "decision": "approve"}, "compliance"),
    ("get", "/api/runs/{run}/diff?from=first&to=last", None, "reviewer"),
    ("get", "/api/runs/{run}/state?step=latest", None, "compliance"),
]


@pytest.mark.parametrize(("method", "path", "body", "role"), REFUSED)
def test_a_request_the_endpoint_would_refuse_is_a_403_for_a_caller_without_the_role(
        api, reviewer_user, compliance_user, waiting, method, path, body, role):
    user = {"reviewer": reviewer_user, "compliance": compliance_user}[role]
    url = path.format(run=waiting.thread_id, item=ReviewItem.objects.get(run=waiting).pk)
    sent = {"data": body, "content_type": "application/json"} if body is not None else {}

    response = getattr(api(user), method)(url, **sent)

    assert response.status_code == 403, response.content
    assert "fields" not in response.json() and "not accepted" not in response.json()["detail"]


def test_a_body_that_is_not_json_is_a_403_too(api, outsider_user, waiting):
    response = api(outsider_user).post("/api/runs", "workflow=email_approval", content_type="text/plain")

    assert response.status_code == 403
    assert response.json() == {"detail": "this needs one of the roles: engineer, admin"}


def test_the_caller_with_the_role_is_told_what_is_wrong_with_the_same_request(api, engineer_user, waiting):
    response = api(engineer_user).post("/api/runs", {"workflw": "email_approval"}, content_type="application/json")

    assert response.status_code == 422 and "workflw" in response.json()["fields"]


def test_every_endpoint_names_the_roles_that_may_call_it():
    # An endpoint left with the API's default (credentials only) would read its request for anyone.
    for _prefix, router in ninja_api._routers:
        for path, view in router.path_operations.items():
            for operation in view.operations:
                assert operation.auth_callbacks and all(auth.roles for auth in operation.auth_callbacks), \
                    (path, operation.methods)
