"""A command that finds nothing says so, in words that cannot pass for a result: `runs list` printed
nothing, `api_token USER --list` printed nothing, and `audit verify --since` a date with no entries said
"OK: 0 entries in 0 chains and 2 seals verified". And `audit verify --run X --since D`, which ignored
--since, is refused the way `audit export` refuses a run with a date range."""

from __future__ import annotations

from audit.sealing import ledger_seal
from tests.ledger.conftest import refusal


def test_runs_list_says_there_are_no_runs_or_none_match(manage_cli, letter_run):
    none = manage_cli("runs", "list")
    assert none.returncode == 0 and none.stdout == "no runs yet; start one with `python manage.py runs start WORKFLOW`\n"

    letter_run()
    failed = manage_cli("runs", "list", "--status", "failed")
    assert failed.returncode == 0
    assert failed.stdout == "no runs match (status failed); leave out --status to list every run\n"


def test_a_user_without_tokens_is_told_how_to_make_one(manage_cli, engineer_user):
    listed = manage_cli("api_token", "engineer", "--list")
    assert listed.returncode == 0
    assert listed.stdout == "no tokens for engineer; create one with `python manage.py api_token engineer`\n"


def test_verify_since_a_day_without_entries_says_nothing_was_verified(letter_run, audit_cli):
    letter_run()
    assert ledger_seal() is not None
    verified = audit_cli("verify", "--since", "2030-01-01")
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout == "nothing to verify: no ledger entries since 2030-01-01 (1 seal checked)\n"


def test_verify_refuses_a_run_with_a_date_as_export_does(letter_run, audit_cli):
    run = letter_run()
    assert refusal(audit_cli("verify", "--run", run.thread_id, "--since", "2020-01-01")) == (
        "a run is verified whole, so it takes no --since: leave out --since to verify the run, or --run to verify "
        "the runs with entries since the date")
