"""The OpenAPI schema (/api/schema) lists the refusals each endpoint really answers, so a client
generated from it handles them: 401 and 403 on every endpoint (credentials, then role, checked
first), 404 where the path names a run, an item or a blob, and 409 where someone else may have got
there first (a second decision, a claim another holds). The schema listed only 400 and 422 for most
endpoints, though they answered these."""

from __future__ import annotations

import json

from orchestrator.executor import run_advance
from orchestrator.services import run_start
from review.models import ReviewItem


def _responses(schema: dict, method: str, path: str) -> set[str]:
    return set(schema["paths"][path][method]["responses"])


def test_every_endpoint_lists_401_and_403_and_a_path_naming_something_404(api, engineer_user):
    schema = api(engineer_user).get("/api/schema").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            listed = set(operation["responses"])
            assert {"400", "401", "403", "422"} <= listed, f"{method.upper()} {path} lists only {sorted(listed)}"
            if "{" in path:
                assert "404" in listed, f"{method.upper()} {path} answers 404 for an unknown id but does not list it"
            for status in {"401", "403", "404", "409"} & listed:
                body = operation["responses"][status]["content"]["application/json"]["schema"]
                assert "$ref" in body, f"{method.upper()} {path} {status} has no body schema"


def test_a_refusal_the_api_answers_is_one_its_schema_lists(api, engineer_user, reviewer_user, test_graphs):
    from tests.orchestrator.graphs import FLAKY, PARSER

    PARSER["broken"], FLAKY["mode"] = False, ""
    run = run_start(workflow="ask_then_flaky")
    assert run_advance(run.pk, worker="test") == "suspended"
    item = ReviewItem.objects.get(run=run)
    reviewer, engineer = api(reviewer_user), api(engineer_user)
    schema = engineer.get("/api/schema").json()
    approve = json.dumps({"decision": "approve"})

    answered = {
        ("post", "/api/items/{pk}/decision"): [
            reviewer.post(f"/api/items/{item.pk}/decision", approve, content_type="application/json"),
            reviewer.post(f"/api/items/{item.pk}/decision", approve, content_type="application/json")],
        ("get", "/api/runs/{thread_id}"): [engineer.get("/api/runs/no-such-run")],
        ("post", "/api/runs"): [reviewer.post("/api/runs", "{}", content_type="application/json"),
                                api().post("/api/runs", "{}", content_type="application/json")],
    }
    statuses = {key: [r.status_code for r in responses] for key, responses in answered.items()}
    assert statuses == {("post", "/api/items/{pk}/decision"): [200, 409], ("get", "/api/runs/{thread_id}"): [404],
                        ("post", "/api/runs"): [403, 401]}
    for (method, path), codes in statuses.items():
        for code in codes:
            assert str(code) in _responses(schema, method, path), f"{method.upper()} {path} answered {code} unlisted"
