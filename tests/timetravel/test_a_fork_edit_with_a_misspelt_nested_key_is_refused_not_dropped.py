"""An engineer's fork edit with a misspelt key inside an object ({"email": {"bdy": …}}) is refused
naming the key path, from the fork page, the API and `runs fork --set`, where the schema once dropped
the key and the fork ran with the old subject. No fork is made and nothing is written to the ledger;
the page shows back what was typed."""

from __future__ import annotations

import html as html_lib
import json
import re

import pytest
from django.core.management import CommandError, call_command

from orchestrator.forks import ForkError, run_fork
from orchestrator.history import state_at
from tests.timetravel.conftest import no_fork_was_made

MISSPELT = {"subject": "Q3 numbers", "bdy": "About Q3 numbers, revised.", "cc": ["cfo@example.com"]}
NAMED = "email.bdy: is not a field the workflow knows; remove it (email has subject, body, cc)"


def test_run_fork_refuses_it_naming_the_key_path(outreach_parent, engineer_user):
    run, step = outreach_parent

    with pytest.raises(ForkError) as refused:
        run_fork(run=run, at_step=step, edits={"email": MISSPELT}, actor=engineer_user)

    assert NAMED in str(refused.value)
    assert refused.value.field_errors == {"email": f"{NAMED.removeprefix('email.bdy: ')} (at email.bdy)"}
    no_fork_was_made(run)


def test_the_fork_page_refuses_it_and_shows_back_what_was_typed(outreach_parent, engineer_user, client_for):
    run, step = outreach_parent
    typed = json.dumps(MISSPELT, indent=2)

    response = client_for(engineer_user).post(f"/runs/{run.thread_id}/checkpoints/{step}/fork/",
                                              {"field_email": typed, "mode": "recorded"})

    page = response.content.decode()
    assert response.status_code == 422
    assert html_lib.escape(NAMED) in page
    assert 'id="err_email" data-testid="field-error">email: ' in page
    shown = re.search(r'<textarea id="field_email"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    assert html_lib.unescape(shown).strip() == typed
    no_fork_was_made(run)


def test_the_api_refuses_it_with_a_422_naming_the_field(outreach_parent, engineer_user, api):
    run, step = outreach_parent

    response = api(engineer_user).post(f"/api/runs/{run.thread_id}/fork", {"at_step": step, "edits": {
        "email": MISSPELT}}, content_type="application/json")

    assert response.status_code == 422
    assert NAMED in response.json()["detail"]
    assert response.json()["fields"] == {"edits.email.bdy": NAMED.removeprefix("email.bdy: ")}
    no_fork_was_made(run)


def test_runs_fork_refuses_it(outreach_parent, engineer_user):
    run, step = outreach_parent

    with pytest.raises(CommandError, match=re.escape(NAMED)):
        call_command("runs", "fork", run.thread_id, "--at", str(step), "--set", json.dumps({"email": MISSPELT}),
                     "--actor", "engineer")
    no_fork_was_made(run)


def test_the_correctly_spelt_edit_forks(outreach_parent, engineer_user):
    run, step = outreach_parent

    fork = run_fork(run=run, at_step=step, edits={"email": {"subject": "Q3 numbers (revised)",
                                                            "body": "About Q3 numbers."}}, actor=engineer_user)

    assert state_at(fork.pk, 0)["email"] == {"subject": "Q3 numbers (revised)", "body": "About Q3 numbers.", "cc": []}
