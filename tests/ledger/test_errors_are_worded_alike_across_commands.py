"""The same mistake gets the same words from every command: an unknown run, an unknown user, a user without
the role, an unknown workflow, malformed JSON (naming the flag that was given), and one line for a seal
whether `audit seal` made it once or in a loop. They were worded three ways ("no run 'nope'", "no user
'ghost'" with or without a hint, "engineer is not an admin" beside "'engineer' is not an admin"), and every
JSON hint suggested --input, also for --edit, --set and --override."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import pytest

from tests.ledger.conftest import refusal
from tests.workers import ROOT

NO_RUN = "no run with thread id 'nope'; list runs with `python manage.py runs list`."
NO_USER = "no user 'ghost'; an admin creates it at /admin/ (Users) and adds it to a role group (README: Accounts and roles)."
NOT_ADMIN = re.compile(r"'engineer' is not an admin: [a-z ]+ needs the admin role "
                       r"\(--actor takes an admin's username\)\.")
SEALED = re.compile(r"sealed \d+: [\d,]+ entries in the tree, this seal adds gseq \d+-\d+; root [0-9a-f]{16}… "
                    r"key [0-9a-f]+")


def _with(run_id: str, args: tuple[str, ...]) -> list[str]:
    return [arg.replace("{run}", run_id) for arg in args]


@pytest.fixture
def run_id(letter_run, admin_user, engineer_user, exporter) -> str:
    return letter_run().thread_id


@pytest.mark.parametrize("args", [
    ("runs", "show", "nope"),
    ("runs", "history", "nope"),
    ("audit", "verify", "--run", "nope"),
    ("audit", "erase", "--run", "nope", "--actor", "admin"),
    ("audit", "export", "--run", "nope", "-o", "nope.jsonl", "--as", "casey"),
])
def test_an_unknown_run(run_id, manage_cli, args):
    assert refusal(manage_cli(*args)) == NO_RUN


@pytest.mark.parametrize("args", [
    ("runs", "start", "ledger_letter", "--actor", "ghost"),
    ("runs", "cancel", "{run}", "--actor", "ghost"),
    ("api_token", "ghost"),
    ("audit", "erase", "--run", "{run}", "--actor", "ghost"),
    ("audit", "prune", "--actor", "ghost"),
    ("audit", "retention", "ledger_letter", "400", "--actor", "ghost"),
    ("audit", "export", "--run", "{run}", "-o", "ghost.jsonl", "--as", "ghost"),
])
def test_an_unknown_user(run_id, manage_cli, args):
    assert refusal(manage_cli(*_with(run_id, args))) == NO_USER


@pytest.mark.parametrize("args", [
    ("erase", "--run", "{run}"),
    ("prune",),
    ("retention", "ledger_letter", "400"),
])
def test_someone_who_is_not_an_admin(run_id, audit_cli, args):
    said = refusal(audit_cli(*_with(run_id, args), "--actor", "engineer"))
    assert NOT_ADMIN.fullmatch(said), said


def test_an_unknown_workflow(run_id, manage_cli):
    said = {refusal(manage_cli(*args)) for args in (
        ("runs", "start", "nosuch"),
        ("audit", "retention", "nosuch", "400", "--actor", "admin"),
        ("audit", "export", "--workflow", "nosuch", "-o", "nosuch.jsonl", "--as", "casey"),
    )}
    assert said == {"unknown workflow 'nosuch'; known workflows: document_pipeline, email_approval, ledger_letter, "
                    "research_agent. Register a module path in GATEHOUSE_WORKFLOWS."}


@pytest.mark.parametrize(("args", "example"), [
    (("runs", "start", "ledger_letter", "--input", "{bad"), """--input '{"topic": "hello"}'"""),
    (("runs", "resume", "{run}", "--edit", "{bad", "--actor", "admin"), """--edit '{"topic": "hello"}'"""),
    (("runs", "fork", "{run}", "--at", "1", "--set", "{bad", "--actor", "engineer"), """--set '{"topic": "hello"}'"""),
    (("runs", "fork", "{run}", "--at", "1", "--override", "{bad", "--actor", "engineer"),
     """--override '{"nodes": {"summarize": {"model": "demo-large"}}}'"""),
])
def test_malformed_json_names_the_flag_it_was_given_to(run_id, manage_cli, args, example):
    flag = example.split()[0]
    assert refusal(manage_cli(*_with(run_id, args))) == (
        f"{flag} is not valid JSON (expecting property name enclosed in double quotes at line 1, column 2); "
        f"quote it for the shell, e.g. {example}.")


def test_a_seal_reads_the_same_made_once_or_in_a_loop(letter_run, audit_cli, wait_for):
    letter_run()
    once = audit_cli("seal")
    assert once.returncode == 0 and SEALED.fullmatch(once.stdout.strip()), once.stdout

    letter_run()
    loop = subprocess.Popen([sys.executable, "manage.py", "audit", "seal", "--loop", "--every", "0.2"], cwd=ROOT,
                            env=audit_cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert loop.stdout.readline() == "sealing every 0.2s until SIGTERM or Ctrl-C\n"
        assert SEALED.fullmatch(loop.stdout.readline().strip())
    finally:
        loop.send_signal(signal.SIGTERM)
        loop.communicate(timeout=60)
