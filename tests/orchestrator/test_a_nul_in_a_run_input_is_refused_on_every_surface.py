"""A NUL character in a run's input is refused, by one rule in run_start, whatever starts the run. The API
refused one (its parser refuses a NUL anywhere in a body), but the start page and `runs start` started the
run: state is JSON text, which holds the escape, yet everything a person is shown of it is not. The gate's
summary drops the NUL, so a reviewer approved paying "ap@supplier.example" while the state, and the
action, held another text; jsonb columns (labels, edits, notifications) refuse it outright."""

from __future__ import annotations

import html
import io
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DataError, connection

from orchestrator.models import Run
from orchestrator.services import RunError, run_start

REFUSED = "text may not contain the NUL character (\\u0000); remove it"
SAID = ("input.topic holds a NUL character (\\u0000), which a run's input may not hold: remove it and start the "
        "run again. Nothing was started.")


def test_the_database_keeps_no_nul_in_jsonb(db):
    with pytest.raises(DataError, match="unsupported Unicode escape sequence"), connection.cursor() as cursor:
        cursor.execute("SELECT %s::jsonb", ['{"topic": "Q3\\u0000"}'])


def test_run_start_refuses_it_naming_its_key_path(db):
    with pytest.raises(RunError) as refused:
        run_start(workflow="email_approval", input={"to": "cfo@example.com", "topic": "Q3\x00numbers"})

    assert str(refused.value) == SAID
    assert refused.value.field_errors == {"input.topic": REFUSED}
    assert not Run.objects.exists()


def test_a_key_holding_one_is_refused_naming_its_object(db):
    with pytest.raises(RunError, match=r"^input holds a NUL character") as refused:
        run_start(workflow="email_approval", input={"to": "cfo@example.com", "topic": "Q3", "a\x00": 1})

    assert list(refused.value.field_errors) == ["input"]
    assert not Run.objects.exists()


def test_the_api_refuses_it(api, engineer_user):
    response = api(engineer_user).post("/api/runs", {"workflow": "email_approval", "input": {
        "to": "cfo@example.com", "topic": "Q3\x00numbers"}}, content_type="application/json")

    assert response.status_code == 422
    assert response.json()["fields"] == {"input.topic": REFUSED}
    assert not Run.objects.exists()


def test_the_start_page_refuses_it_and_keeps_the_input(client_for, engineer_user):
    client = client_for(engineer_user)
    key = re.search(r'name="request_key" value="([0-9a-f]+)"', client.get("/runs/new/").content.decode()).group(1)
    typed = '{"to": "cfo@example.com", "topic": "Q3\\u0000numbers"}'

    response = client.post("/runs/new/", {"workflow": "email_approval", "request_key": key, "input": typed})

    page = html.unescape(response.content.decode())
    assert response.status_code == 422
    assert "I" + SAID[1:] in page  # the page says it with a capital
    assert f"input.topic: {REFUSED}" in page  # under the input box
    assert f">{typed}</textarea>" in page
    assert not Run.objects.exists()


def test_runs_start_refuses_it(db):
    with pytest.raises(CommandError) as refused:
        call_command("runs", "start", "email_approval", "--input",
                     '{"to": "cfo@example.com", "topic": "Q3\\u0000numbers"}', stdout=io.StringIO())

    assert str(refused.value) == SAID
    assert not Run.objects.exists()
