"""`manage.py runs state ID [--step N]` prints the run's state (latest, or at checkpoint N) as indented JSON
with its keys sorted, what GET /api/runs/{id}/state answers, and refuses like the other `runs` subcommands:
exit 1 with one line for an unknown run or a step the run does not have (naming its range), exit 2 for a
--step that is not a number. Before, `runs show` and `runs history --json` had no state at all."""

from __future__ import annotations

import json

import pytest

from orchestrator.executor import run_advance
from orchestrator.history import state_at
from orchestrator.models import Run
from orchestrator.services import run_start


@pytest.fixture
def waiting_email(worker_env) -> Run:
    run = run_start(workflow="email_approval", input={"to": "ana@example.com", "topic": "Grüße \u009b2J"})
    assert run_advance(run.pk, worker="test") == "suspended"
    run.refresh_from_db()
    return run


def _refusal(result) -> str:
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    (line,) = result.stderr.splitlines()
    return line.removeprefix("CommandError: ")


def test_it_prints_the_latest_state_and_any_checkpoints_as_sorted_json(manage, waiting_email, api,
                                                                        engineer_user):
    latest = manage("runs", "state", waiting_email.thread_id).stdout

    assert json.loads(latest) == state_at(waiting_email.pk, 2)
    assert latest == json.dumps(json.loads(latest), indent=2, sort_keys=True, ensure_ascii=False).replace(
        "\u009b", "\\u009b") + "\n"
    assert '"subject": "About Grüße' in latest  # text as written…
    assert "\u009b" not in latest and "\\u009b2J" in latest  # …but a terminal's CSI is escaped (valid JSON still)
    at_input = json.loads(manage("runs", "state", str(waiting_email.pk), "--step", "0").stdout)  # by database id
    assert at_input == state_at(waiting_email.pk, 0) and at_input["subject"] == ""
    by_api = api(engineer_user).get(f"/api/runs/{waiting_email.thread_id}/state?step=0")
    assert by_api.json()["state"] == at_input


def test_a_step_the_run_does_not_have_is_refused_naming_its_range(manage, waiting_email):
    said = _refusal(manage("runs", "state", waiting_email.thread_id, "--step", "7", check=False))

    assert said == (f"--step 7 is not a checkpoint of run {waiting_email.thread_id}: it has checkpoints 0 to 2; "
                    "pick --step in that range, or leave it out for the latest.")


def test_an_unknown_run_is_refused_as_by_every_command(manage, worker_env):
    assert _refusal(manage("runs", "state", "nope", check=False)) == \
        "no run with thread id 'nope'; list runs with `python manage.py runs list`."


@pytest.mark.parametrize("step", ["x", "-1", "1.5"])
def test_a_step_that_is_not_a_number_is_a_usage_error(manage, waiting_email, step):
    result = manage("runs", "state", waiting_email.thread_id, f"--step={step}", check=False)

    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].endswith(
        f"argument --step: {step!r} is not a checkpoint number (a whole number, 0 for the input)"), result.stderr


def test_every_json_the_runs_command_prints_escapes_a_terminal_s_csi(manage, waiting_email):
    # The diff and the labels of `runs show` print model text too: the same escaping, still valid JSON.
    diff = manage("runs", "diff", waiting_email.thread_id, "--from", "0", "--to", "1", "--json").stdout
    assert "\u009b" not in diff and "\\u009b2J" in diff
    assert json.loads(diff)


def test_text_that_would_reorder_the_terminal_line_is_escaped(manage, worker_env):
    # A right-to-left override or a line separator in model text would reorder or split what the operator
    # reads; like every character `printable` escapes, it is printed as its JSON escape.
    run = run_start(workflow="email_approval", input={"to": "ana@example.com", "topic": "pay \u202etxt.exe\u2028"})
    assert run_advance(run.pk, worker="test") == "suspended"

    latest = manage("runs", "state", run.thread_id).stdout

    assert "\u202e" not in latest and "\u2028" not in latest
    assert "\\u202etxt.exe\\u2028" in latest and json.loads(latest)["topic"] == "pay \u202etxt.exe\u2028"
