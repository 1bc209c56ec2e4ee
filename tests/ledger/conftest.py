"""Ledger fixtures: real runs written by the real executor, seals in a per-test directory, and the
`manage.py audit` command run in a fresh interpreter against the test database."""

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
def audit_cli(worker_env, seal_dir, ledger_workflows) -> Callable[..., subprocess.CompletedProcess]:
    """audit_cli("verify", "--run", T) -> the finished `manage.py audit …` process (never raises)."""
    from django.conf import settings

    env = {**worker_env, "GATEHOUSE_SEAL_DIR": str(seal_dir),
           "GATEHOUSE_WORKFLOWS": ",".join(settings.GATEHOUSE_WORKFLOWS)}

    def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "manage.py", "audit", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=timeout)

    run.env = env
    return run


def tamper(sql: str, params: list | tuple = ()) -> None:
    """Change the database the way an attacker with SQL access would: triggers off, then raw SQL."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
