"""Ledger fixtures: real runs written by the real executor, seals in a per-test directory, the
`manage.py audit` command run in a fresh interpreter against the test database, and its JSONL exports
checked by the offline verifier run the way an auditor runs it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import connection, transaction

from orchestrator.executor import run_advance
from orchestrator.models import Run
from orchestrator.services import run_start
from orchestrator.workflow_versions import workflow_versions_forget
from tests.workers import ROOT

LETTER = "tests.ledger.graphs"


@pytest.fixture
def ledger_workflows(register_workflows):
    register_workflows(LETTER)
    workflow_versions_forget()  # what an earlier test's (since emptied) database held


@pytest.fixture
def seal_dir(settings, tmp_path) -> Path:
    """Where this test's seal copies go: the copy outside the database."""
    settings.GATEHOUSE_SEAL_DIR = tmp_path / "seals"
    return settings.GATEHOUSE_SEAL_DIR


@pytest.fixture
def letter_run(transactional_db, redis_conn, ledger_workflows, seal_dir) -> Callable[..., Run]:
    """letter_run(email=..., labels=...) -> a completed run of the 6-step letter workflow (8 entries)."""

    def make(*, email: str = "ana@example.com", labels: dict[str, str] | None = None) -> Run:
        run = run_start(workflow="ledger_letter", input={"customer_email": email}, labels=labels or {})
        assert run_advance(run.pk, worker="test") == "completed"
        run.refresh_from_db()
        return run

    return make


@pytest.fixture
def manage_cli(worker_env, seal_dir, ledger_workflows) -> Callable[..., subprocess.CompletedProcess]:
    """manage_cli("runs", "show", T) -> the finished `manage.py …` process (never raises), as an operator
    runs it: a fresh interpreter against the test database, with this test's workflows and seal directory.
    `env` adds to (or overrides) that environment; other keyword arguments go to subprocess.run
    (e.g. umask=0o077)."""
    from django.conf import settings

    base = {**worker_env, "GATEHOUSE_SEAL_DIR": str(seal_dir),
            "GATEHOUSE_WORKFLOWS": ",".join(settings.GATEHOUSE_WORKFLOWS)}

    def run(*args: str, timeout: float = 120, env: dict[str, str] | None = None,
            **options) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **(env or {})},
                              capture_output=True, text=True, timeout=timeout, **options)

    run.env = base
    return run


@pytest.fixture
def audit_cli(manage_cli) -> Callable[..., subprocess.CompletedProcess]:
    """audit_cli("verify", "--run", T) -> the finished `manage.py audit …` process (never raises)."""

    def run(*args: str, timeout: float = 120, **options) -> subprocess.CompletedProcess:
        return manage_cli("audit", *args, timeout=timeout, **options)

    run.env = manage_cli.env
    return run


@pytest.fixture
def exporter(make_user):
    """The compliance officer `audit export --as` names: exports are recorded under an existing user."""
    from orchestrator.roles import COMPLIANCE

    return make_user("casey", COMPLIANCE, first_name="Casey", last_name="Compliance")


def usage_error(result: subprocess.CompletedProcess) -> str:
    """The one-line message of a command refused while its arguments were read: exit 2, argparse's usage
    (wrapped over several lines when long) and its error, never a traceback."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    *usage, error = result.stderr.splitlines()
    assert usage[0].startswith("usage: manage.py ") and all(line.startswith(" ") for line in usage[1:]), result.stderr
    return error


def refusal(result: subprocess.CompletedProcess) -> str:
    """What a refused command says: exit 1 and one line on stderr, never a traceback."""
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("CommandError: "), line
    return line.removeprefix("CommandError: ")


def tamper(sql: str, params: list | tuple = ()) -> None:
    """Change the database the way an attacker with SQL access would: triggers off, then raw SQL."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)


VERIFIER = ROOT / "audit" / "offline_verifier.py"


def offline(export: Path, key: Path, *extra: str) -> subprocess.CompletedProcess:
    """The offline verifier's finished process. Run from the export's directory with an isolated
    interpreter: no project code, no database."""
    return subprocess.run([sys.executable, "-I", str(VERIFIER), str(export), "--public-key", str(key), *extra],
                          cwd=export.parent, capture_output=True, text=True, timeout=120)


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


@pytest.fixture
def public_key(audit_cli, tmp_path) -> Path:
    """The ledger's public key as `audit public-key` prints it, in a file for the offline verifier."""
    key = tmp_path / "ledger.pub.pem"
    key.write_text(audit_cli("public-key").stdout)
    return key


@pytest.fixture
def export(audit_cli, exporter, tmp_path) -> Callable[..., Path]:
    """export("name", "--run", T) -> the path of a JSONL export made by the CLI (as `exporter`)."""

    def make(name: str, *scope: str) -> Path:
        path = tmp_path / f"{name}.jsonl"
        made = audit_cli("export", *scope, "--format", "jsonl", "-o", str(path), "--as", exporter.username)
        assert made.returncode == 0, made.stderr
        return path

    return make
