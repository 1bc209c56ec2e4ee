"""An argument the commands cannot use is refused while the arguments are read, as a usage error: exit 2,
the usage line and one line saying what is wrong, never a traceback. A malformed date printed a 51-line
traceback; `--every -1` made a loop spin and `--every 0` silently meant the default; `runs list --status
bogus` listed nothing; a label without "=" was worded two ways; `-o ""` was taken for the current directory; `audit prune` without --actor said
"'nobody' is not an admin" (exit 1) where erase and retention gave a usage error."""

from __future__ import annotations

import pytest

from tests.ledger.conftest import usage_error

DATE_FORMAT = "use a date like 2025-01-31 (YYYY-MM-DD)"


@pytest.mark.parametrize(("args", "error"), [
    (("audit", "verify", "--since", "2026-13-01"),
     f"manage.py audit verify: error: argument --since: '2026-13-01' is not a date: {DATE_FORMAT}"),
    (("audit", "verify", "--since", "yesterday"),
     f"manage.py audit verify: error: argument --since: 'yesterday' is not a date: {DATE_FORMAT}"),
    (("audit", "export", "--since", "2026-02-30", "-o", "x.jsonl", "--as", "casey"),
     f"manage.py audit export: error: argument --since: '2026-02-30' is not a date: {DATE_FORMAT}"),
    (("audit", "export", "--until", "31/01/2026", "-o", "x.jsonl", "--as", "casey"),
     f"manage.py audit export: error: argument --until: '31/01/2026' is not a date: {DATE_FORMAT}"),
])
def test_a_malformed_date_is_one_line_naming_the_format(manage_cli, args, error):
    assert usage_error(manage_cli(*args)) == error


@pytest.mark.parametrize("args", [("reconcile", "--loop"), ("audit", "seal", "--loop")])
@pytest.mark.parametrize("every", ["-1", "0", "nan", "soon"])
def test_a_loop_pause_must_be_a_positive_number_of_seconds(manage_cli, args, every):
    error = usage_error(manage_cli(*args, "--every", every, timeout=30))
    assert error.endswith(f"argument --every: '{every}' is not a number of seconds above 0 (e.g. 30 or 0.5)")


@pytest.mark.parametrize(("args", "error"), [
    (("reconcile",), "manage.py reconcile: error: --every is the pause between the passes of --loop: add --loop, or "
                     "leave out --every for one pass"),
    (("audit", "seal"), "manage.py audit seal: error: --every is the pause between the seals of --loop: add --loop, "
                        "or leave out --every to seal once"),
])
def test_a_loop_pause_without_the_loop_is_refused(manage_cli, args, error):
    # It was accepted and ignored: one pass, exit 0, though the operator asked for a pass every 5 seconds.
    assert usage_error(manage_cli(*args, "--every", "5", timeout=30)) == error


def test_an_unknown_status_names_the_statuses_there_are(manage_cli):
    error = usage_error(manage_cli("runs", "list", "--status", "bogus"))
    assert error == ("manage.py runs list: error: argument --status: invalid choice: 'bogus' (choose from "
                     "'queued', 'running', 'suspended', 'completed', 'rejected', 'failed', 'cancelled')")


@pytest.mark.parametrize("args", [("runs", "start", "ledger_letter"), ("audit", "erase", "--actor", "admin")])
def test_a_label_that_is_not_key_value_is_refused_alike(manage_cli, args):
    error = usage_error(manage_cli(*args, "--label", "acme"))
    assert error.endswith("error: argument --label: 'acme' is not KEY=VALUE (e.g. --label customer=acme-42)")


def test_an_empty_output_asks_for_a_file_path(manage_cli):
    error = usage_error(manage_cli("audit", "export", "--format", "csv", "-o", "", "--as", "casey"))
    assert error == ("manage.py audit export: error: argument -o/--output: the output is empty: give a file path, "
                     "or - for standard output")


@pytest.mark.parametrize("args", [
    ("audit", "prune"),
    ("audit", "erase", "--run", "T-1"),
    ("audit", "retention", "ledger_letter", "400"),
])
def test_every_admin_action_requires_its_actor_alike(manage_cli, args):
    error = usage_error(manage_cli(*args))
    assert error.startswith(f"manage.py audit {args[1]}: error: the following arguments are required: --actor")


def test_a_dry_run_prune_needs_no_actor(manage_cli):
    dry = manage_cli("audit", "prune", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith("would prune 0 runs")


@pytest.mark.parametrize(("args", "flag", "value"), [
    (("runs", "fork", "T-1", "--actor", "admin", "--at"), "--at", "-1"),
    (("runs", "diff", "T-1", "--to", "2", "--from"), "--from", "x"),
    (("runs", "diff", "T-1", "--from", "0", "--to"), "--to", "1.5"),
])
def test_a_checkpoint_that_is_not_a_number_is_refused_as_by_runs_state(manage_cli, args, flag, value):
    # A negative --at used to get as far as the run and be refused as "no checkpoint -1" (exit 1).
    error = usage_error(manage_cli(*args, value))
    assert error.endswith(f"argument {flag}: {value!r} is not a checkpoint number (a whole number, 0 for the input)")


@pytest.mark.parametrize(("action", "extra", "said"), [
    (("--list",), ("--days", "7"), "--days describes a new token, so it does not go with --list"),
    (("--revoke-all",), ("--name", "ci"), "--name describes a new token, so it does not go with --revoke-all"),
    (("--revoke", "gh_abcdefgh"), ("--name", "ci", "--days", "7"),
     "--name and --days describe a new token, so they do not go with --revoke"),
])
def test_token_options_beside_list_or_revoke_are_refused_not_ignored(manage_cli, action, extra, said):
    assert said in usage_error(manage_cli("api_token", "admin", *action, *extra))
