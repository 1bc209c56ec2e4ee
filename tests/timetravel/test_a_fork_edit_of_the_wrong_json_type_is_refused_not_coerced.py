"""An engineer's fork edit is read as the JSON it was typed in: "yes" for a flag and "3" for a count are
refused naming the field, from the fork page, the API and `runs fork --set`, where the schema once took
them as true and 3. No fork is made and nothing is written to the ledger; the page shows back what was
typed. A date typed as ISO text is taken."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from django.core.management import CommandError, call_command

from orchestrator.forks import ForkError, run_fork
from orchestrator.history import state_at
from orchestrator.models import Run
from tests.timetravel.conftest import no_fork_was_made


def test_run_fork_refuses_a_quoted_flag(outreach_parent, engineer_user):
    run, step = outreach_parent

    with pytest.raises(ForkError) as refused:
        run_fork(run=run, at_step=step, edits={"urgent": "yes"}, actor=engineer_user)

    assert refused.value.field_errors == {"urgent": "must be true or false without quotes, not 'yes'"}
    no_fork_was_made(run)


def test_the_fork_page_refuses_a_quoted_number_and_shows_back_what_was_typed(outreach_parent, engineer_user, client_for):
    run, step = outreach_parent

    response = client_for(engineer_user).post(f"/runs/{run.thread_id}/checkpoints/{step}/fork/",
                                              {"field_attempts": '"3"', "mode": "recorded"})

    page = response.content.decode()
    assert response.status_code == 422
    assert html_lib.escape("attempts: must be a whole number without quotes, not '3'") in page
    shown = re.search(r'<textarea id="field_attempts"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    assert html_lib.unescape(shown) == '"3"'
    no_fork_was_made(run)


def test_the_api_refuses_it_with_a_422_naming_the_field(outreach_parent, engineer_user, api):
    run, step = outreach_parent

    response = api(engineer_user).post(f"/api/runs/{run.thread_id}/fork", {"at_step": step, "edits": {
        "attempts": "3"}}, content_type="application/json")

    assert response.status_code == 422
    assert response.json()["fields"] == {"edits.attempts": "must be a whole number without quotes, not '3'"}
    no_fork_was_made(run)


def test_runs_fork_refuses_it(outreach_parent, engineer_user):
    run, step = outreach_parent

    with pytest.raises(CommandError, match=re.escape("urgent: must be true or false without quotes, not 'true'")):
        call_command("runs", "fork", run.thread_id, "--at", str(step), "--set", '{"urgent": "true"}',
                     "--actor", "engineer")
    no_fork_was_made(run)


def test_the_fork_page_takes_a_date_as_iso_text_and_true_numbers(outreach_parent, engineer_user, client_for):
    run, step = outreach_parent

    response = client_for(engineer_user).post(f"/runs/{run.thread_id}/checkpoints/{step}/fork/", {
        "field_send_on": '"2025-02-14"', "field_attempts": "3", "field_urgent": "true", "mode": "recorded"})

    assert response.status_code == 302, response.content  # a refusal shows its page, not DoesNotExist
    fork = Run.objects.get(parent=run)
    state = state_at(fork.pk, 0)
    assert (state["send_on"], state["attempts"], state["urgent"]) == ("2025-02-14", 3, True)
