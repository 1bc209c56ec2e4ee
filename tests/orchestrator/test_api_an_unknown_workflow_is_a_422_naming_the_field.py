"""POST /api/runs with a workflow that is not registered is a 422 naming the body's `workflow` and the
workflows there are, as any other field of the body it gets wrong is. Before, it was a 404 with no `fields`,
as if the URL named something that was not there."""

from __future__ import annotations

from orchestrator.models import Run
from orchestrator.registry import workflows


def test_a_misspelt_workflow_is_a_422_naming_it_and_the_workflows_there_are(api, engineer_user):
    response = api(engineer_user).post("/api/runs", {"workflow": "email_aproval", "input": {"to": "a@b.co"}},
                                       content_type="application/json")

    assert response.status_code == 422
    known = ", ".join(sorted(workflows()))
    assert response.json()["fields"] == {"workflow": f"is not a registered workflow; the workflows there are: {known}"}
    assert "email_approval" in known
    assert response.json()["detail"].startswith(f"unknown workflow 'email_aproval'; known workflows: {known}.")
    assert not Run.objects.exists()


def test_it_is_named_beside_nothing_else_even_with_an_input_it_would_refuse(api, engineer_user):
    response = api(engineer_user).post("/api/runs", {"workflow": "nope", "input": {"anything": 1}},
                                       content_type="application/json")

    assert response.status_code == 422 and list(response.json()["fields"]) == ["workflow"]
