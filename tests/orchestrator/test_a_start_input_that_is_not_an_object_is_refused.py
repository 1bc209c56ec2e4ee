"""A run's input is a JSON object of state fields. `[]`, `0`, `false`, `""` and `null` typed into the start
page's input box, or given to `runs start --input`, started a run as if `{}` had been typed (its every
field at its default), while `[1]` or `true` were refused: run_start read any empty value as "no input".
Every value that is not an object is now refused alike, naming the input, and nothing is started."""

from __future__ import annotations

import html
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from orchestrator.models import Run
from orchestrator.services import RunError, run_start

NOT_AN_OBJECT = ["[]", "0", "false", '""', "null", "[1]", "true"]


@pytest.mark.parametrize("typed", NOT_AN_OBJECT)
def test_the_start_page_refuses_it_and_keeps_what_was_typed(client_for, engineer_user, typed):
    response = client_for(engineer_user).post("/runs/new/", {"workflow": "document_pipeline", "input": typed})
    page = html.unescape(response.content.decode())

    assert response.status_code == 422 and not Run.objects.exists()
    assert "The input must be a JSON object whose keys are state fields" in page
    assert f">{typed}</textarea>" in page


@pytest.mark.parametrize("typed", NOT_AN_OBJECT)
def test_runs_start_refuses_it(db, typed):
    with pytest.raises(CommandError, match="input must be a JSON object whose keys are state fields"):
        call_command("runs", "start", "document_pipeline", "--input", typed, stdout=io.StringIO())
    assert not Run.objects.exists()


def test_an_empty_object_and_an_empty_box_still_start_with_the_defaults(client_for, engineer_user):
    client = client_for(engineer_user)
    for typed in ("{}", "  "):
        assert client.post("/runs/new/", {"workflow": "document_pipeline", "input": typed}).status_code == 302
    assert Run.objects.count() == 2


@pytest.mark.parametrize("value", [[], 0, False, ""])
def test_run_start_refuses_an_empty_value_that_is_not_an_object(db, value):
    with pytest.raises(RunError, match="input must be a JSON object whose keys are state fields"):
        run_start(workflow="document_pipeline", input=value)
    assert not Run.objects.exists()
