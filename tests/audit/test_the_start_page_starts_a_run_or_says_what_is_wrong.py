"""/runs/new/ starts a run through run_start, as POST /api/runs does, for the roles the API lets start
runs: a refused start shows the form back as typed, saying what is wrong and where; the form sent
twice starts one run; the other roles are refused on GET and POST alike."""

from __future__ import annotations

import html
import re

import pytest

from orchestrator.models import Run
from orchestrator.registry import workflows
from orchestrator.services import run_start

URL = "/runs/new/"


def _key(client) -> str:
    return re.search(r'name="request_key" value="([0-9a-f]+)"', client.get(URL).content.decode()).group(1)


def _page(response) -> str:
    return html.unescape(response.content.decode())


def test_it_lists_every_workflow_with_its_description_and_version(client_for, engineer_user):
    page = _page(client_for(engineer_user).get(URL))

    for name, graph in workflows().items():
        assert f'value="{name}"' in page and graph.description in page and graph.version in page
    assert "checked" not in page  # several workflows: none is picked for the engineer


def test_a_workflow_asked_for_is_picked_with_an_example_of_its_input_and_its_fields(client_for, engineer_user):
    response = client_for(engineer_user).get(URL, {"workflow": "email_approval"})
    page = _page(response)

    assert re.search(r'value="email_approval" checked', page)
    example = re.search(r'<textarea id="id_input"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    assert example == '{\n  "to": "",\n  "topic": ""\n}'  # its required fields, to fill in
    schema = re.search(r'data-schema-for="email_approval".*?</section>', page, re.S).group(0)
    assert "hidden" not in schema.split(">")[0]
    assert re.search(r'topic</span> <small class="muted">text</small>\s*<span[^>]*>required', schema)
    assert "at least 1 character, up to 2000 characters" in schema
    assert "JSON schema" in schema and '"required": [' in schema


def test_a_workflow_asked_for_that_is_not_registered_is_said(client_for, engineer_user):
    page = _page(client_for(engineer_user).get(URL, {"workflow": "nope"}))

    assert "No workflow named 'nope' is registered; pick one of those below." in page


def test_an_engineer_starts_a_run_and_lands_on_its_page(client_for, engineer_user):
    client = client_for(engineer_user)
    response = client.post(URL, {"workflow": "email_approval", "request_key": _key(client),
                                 "input": '{"to": "cfo@example.com", "topic": "Q3"}',
                                 "labels": "department=finance\r\ncustomer = acme-42\r\n", "thread_id": ""})

    run = Run.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/runs/{run.thread_id}/"
    assert run.workflow == "email_approval" and run.created_by == engineer_user
    assert run.labels == {"department": "finance", "customer": "acme-42"}
    assert "Started " + run.thread_id in _page(client.get(response["Location"]))


def test_a_thread_id_typed_names_the_run(client_for, admin_user):
    client = client_for(admin_user)
    response = client.post(URL, {"workflow": "document_pipeline", "request_key": _key(client), "input": "{}",
                                 "thread_id": " my-run-1 "})

    assert response["Location"] == "/runs/my-run-1/" and Run.objects.get().thread_id == "my-run-1"


def test_invalid_json_is_shown_with_its_line_and_column_and_kept(client_for, engineer_user):
    typed = '{"to": "cfo@example.com",\n "topic": Q3}'
    response = client_for(engineer_user).post(URL, {"workflow": "email_approval", "input": typed})
    page = _page(response)

    assert response.status_code == 422 and not Run.objects.exists()
    assert "The input is not valid JSON: expecting value at line 2, column 11." in page
    assert f">{typed}</textarea>" in page and 'value="email_approval" checked' in page


def test_a_key_given_twice_is_refused(client_for, engineer_user):
    response = client_for(engineer_user).post(URL, {"workflow": "email_approval",
                                                    "input": '{"topic": "a", "topic": "b"}'})

    assert response.status_code == 422 and not Run.objects.exists()
    assert "gives the key 'topic' more than once in one object; give it once" in _page(response)


def test_a_schema_violation_names_each_key_path_and_keeps_the_input(client_for, engineer_user):
    typed = '{"to": "cfo@example.com", "tpoic": "Q3"}'
    response = client_for(engineer_user).post(URL, {"workflow": "email_approval", "input": typed})
    page = _page(response)

    assert response.status_code == 422 and not Run.objects.exists()
    assert ">input.topic: is required" in page
    assert ">input.tpoic: is not a field the workflow knows; remove it" in page
    assert f">{typed}</textarea>" in page


def test_a_workflow_not_picked_or_not_registered_is_marked(client_for, engineer_user):
    client = client_for(engineer_user)

    unpicked = _page(client.post(URL, {"input": "{}"}))
    unknown = _page(client.post(URL, {"workflow": "nope", "input": "{}"}))

    assert "Pick the workflow to start." in unpicked
    assert "Unknown workflow 'nope'; known workflows: document_pipeline" in unknown
    assert "This is not a registered workflow; pick one of those listed." in unknown
    assert not Run.objects.exists()


def test_a_thread_id_another_run_has_is_refused_with_a_link_to_that_run(client_for, engineer_user):
    run_start(workflow="document_pipeline", thread_id="taken-1")
    response = client_for(engineer_user).post(URL, {"workflow": "document_pipeline", "input": '{"pages": 3}',
                                                    "thread_id": "taken-1"})
    page = _page(response)

    assert response.status_code == 422 and Run.objects.count() == 1
    assert "Thread id 'taken-1' is already used by another run; pick another or omit it." in page
    assert '<a href="/runs/taken-1/" data-testid="taken-run">Open run taken-1</a>' in page
    assert "Another run has this thread id; pick another, or leave the box empty for a new one." in page
    assert '>{"pages": 3}</textarea>' in page


def test_a_label_line_that_is_not_key_value_is_refused(client_for, engineer_user):
    response = client_for(engineer_user).post(URL, {"workflow": "document_pipeline", "input": "{}",
                                                    "labels": "team=a\nfinance"})

    assert response.status_code == 422 and not Run.objects.exists()
    assert "Labels: line 2 ('finance') is not key=value; write one label a line" in _page(response)


def test_an_input_over_the_api_s_limit_is_refused_by_name_and_kept(client_for, engineer_user, settings):
    settings.GATEHOUSE_MAX_INPUT_BYTES, settings.GATEHOUSE_FORM_MAX_BYTES = 2048, 4096
    typed = '{"text": "' + "x" * 5000 + '"}'  # over the pages' form limit too: this form takes what the API takes
    response = client_for(engineer_user).post(URL, {"workflow": "document_pipeline", "input": typed})
    page = _page(response)

    assert response.status_code == 422 and not Run.objects.exists()
    assert "above GATEHOUSE_MAX_INPUT_BYTES=2048; pass a reference to the document" in page
    assert ">input: is 5,011 bytes, over the limit of 2,048" in page
    assert f">{typed}</textarea>" in page


def test_another_page_still_refuses_a_body_over_the_form_limit(client_for, engineer_user, settings):
    settings.GATEHOUSE_FORM_MAX_BYTES = 4096
    response = client_for(engineer_user).post("/runs/regression/", {"node": "x" * 5000})

    assert response.status_code == 400


def test_the_form_sent_twice_starts_one_run(client_for, engineer_user):
    client = client_for(engineer_user)
    form = {"workflow": "document_pipeline", "input": '{"pages": 3}', "request_key": _key(client)}

    first, second = client.post(URL, form), client.post(URL, form)

    assert first.status_code == second.status_code == 302 and first["Location"] == second["Location"]
    assert Run.objects.count() == 1


def test_the_form_sent_again_with_other_input_says_so_and_carries_a_new_key(client_for, engineer_user):
    client = client_for(engineer_user)
    key = _key(client)
    client.post(URL, {"workflow": "document_pipeline", "input": '{"pages": 3}', "request_key": key})
    response = client.post(URL, {"workflow": "document_pipeline", "input": '{"pages": 4}', "request_key": key})
    page = _page(response)

    made = Run.objects.get()
    assert f"This form already started run {made.thread_id} with other input or labels" in page
    renewed = re.search(r'name="request_key" value="([0-9a-f]+)"', page).group(1)
    assert renewed != key
    client.post(URL, {"workflow": "document_pipeline", "input": '{"pages": 4}', "request_key": renewed})
    assert Run.objects.count() == 2


@pytest.mark.parametrize("persona", ["reviewer_user", "compliance_user", "outsider_user"])
def test_roles_the_api_does_not_let_start_runs_are_refused(request, client_for, persona):
    client = client_for(request.getfixturevalue(persona))

    assert client.get(URL).status_code == 403
    assert client.post(URL, {"workflow": "document_pipeline", "input": "{}"}).status_code == 403
    assert not Run.objects.exists()
    api = client.post("/api/runs", {"workflow": "document_pipeline"}, content_type="application/json")
    assert api.status_code == 403  # the same rule (RUN_STARTERS) answers the API


def test_an_anonymous_visitor_is_sent_to_sign_in(client, db):
    for response in (client.get(URL), client.post(URL, {"workflow": "document_pipeline"})):
        assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert not Run.objects.exists()


@pytest.mark.parametrize("persona", ["engineer_user", "admin_user"])
def test_the_runs_list_has_a_start_button_for_who_may_start(request, client_for, persona):
    page = _page(client_for(request.getfixturevalue(persona)).get("/runs/"))

    assert 'href="/runs/new/" data-testid="start-run">Start a run</a>' in page


def test_with_no_workflow_registered_it_says_how_to_register_one(client_for, engineer_user, settings):
    settings.GATEHOUSE_WORKFLOWS = []
    workflows.cache_clear()
    try:
        page = _page(client_for(engineer_user).get(URL))
    finally:
        workflows.cache_clear()

    assert "No workflows are registered" in page and "GATEHOUSE_WORKFLOWS" in page
    assert "<form method=\"post\" enctype" not in page
