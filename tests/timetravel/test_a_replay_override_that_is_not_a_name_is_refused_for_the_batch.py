"""A regression replay's model or prompt version longer than a name (more than 200 characters: a
document pasted into the box) was accepted by the form, and each run's fork then refused it: the batch
page opened with nothing replayed and every matching run skipped, one by one. The form refuses it up
front, by the same rule as a fork's override, saying which setting is too long and what to do; nothing
is forked."""

from __future__ import annotations

import pytest

from orchestrator.forks import OVERRIDE_TEXT_MAX
from orchestrator.models import Run
from tests.timetravel.conftest import no_fork_was_made


@pytest.mark.parametrize("setting", ["model", "prompt_version"])
def test_the_regression_page_refuses_a_name_too_long_before_any_fork(client_for, engineer_user, pipeline_run,
                                                                      setting):
    response = client_for(engineer_user).post("/runs/regression/", {
        "workflow": "document_pipeline", "node": "summarize", setting: "x" * (OVERRIDE_TEXT_MAX + 1), "limit": "10"})

    page = response.content.decode()
    assert response.status_code == 422
    assert (f"Override for node &#x27;summarize&#x27;: {setting} must be text of at most 200 characters, e.g. "
            f"&quot;demo-large&quot; or &quot;v2&quot; ({setting} has 201): give the name it is known by and "
            "replay again.") in page
    assert 'must be text of at most 200 characters' in page.split('name="model"', 1)[1]  # under the box
    no_fork_was_made(pipeline_run)
    assert Run.objects.count() == 1


def test_a_name_of_200_characters_is_replayed(client_for, engineer_user, pipeline_run):
    response = client_for(engineer_user).post("/runs/regression/", {
        "workflow": "document_pipeline", "node": "summarize", "model": "m" * OVERRIDE_TEXT_MAX, "limit": "10"})

    assert response.status_code == 302
    assert Run.objects.filter(parent=pipeline_run).count() == 1
