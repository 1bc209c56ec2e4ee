"""A deploy whose GATEHOUSE_WORKFLOWS names a module that cannot be registered: the pages that need the
workflows and the API say which module and what to do (503: the installation must be fixed, not the
request), as the commands and workers do, instead of a 500 with a traceback."""

from __future__ import annotations

import pytest

BROKEN = "tests.orchestrator.workflow_modules.edge_to_nowhere"
SAID = f"workflow module {BROKEN}: edge_to_nowhere: edge from 'write' to unknown node 'publsh'."


@pytest.fixture
def broken_module(register_workflows):
    register_workflows(BROKEN)


def test_the_runs_page_names_the_module_to_fix(broken_module, client_for, engineer_user):
    page = client_for(engineer_user).get("/runs/")

    assert page.status_code == 503
    html = page.content.decode()
    assert "Gatehouse cannot load its workflows" in html
    assert "edge from &#x27;write&#x27; to unknown node &#x27;publsh&#x27;" in html
    assert BROKEN in html and "GATEHOUSE_WORKFLOWS" in html


def test_the_api_says_the_same_line_in_json(broken_module, client_for, engineer_user):
    answer = client_for(engineer_user).post("/api/runs", {"workflow": "email_approval", "input": {}},
                                            content_type="application/json")

    assert answer.status_code == 503
    assert answer.json()["detail"] == (f"Gatehouse cannot load its workflows, so nothing was done: {SAID}. An "
                                       "operator must fix GATEHOUSE_WORKFLOWS or the module and restart; try again "
                                       "then.")
