"""A deployment (DEBUG=0) refuses what only development may do: creating the demo accounts (an
admin among them, passwords printed and kept in a file), seeding demo runs into real inboxes, and
making up a ledger signing key that no auditor has seen. Each says what to do instead."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from orchestrator.models import Run

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def deployed(worker_env, tmp_path):
    env = {**worker_env, "DEBUG": "0", "SECRET_KEY": "x" * 50, "GATEHOUSE_DATA_DIR": str(tmp_path / "data")}
    for name in ("GATEHOUSE_LEDGER_KEY", "GATEHOUSE_LEDGER_KEY_FILE", "GATEHOUSE_DEMO_PASSWORD"):
        env.pop(name, None)

    def manage(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=60)

    return manage


def test_demo_accounts_and_runs_are_refused(deployed):
    for command in ("demo_users", "seed_demo_runs"):
        result = deployed(command)
        assert result.returncode == 1, result.stderr
        assert f"{command} is for development (DEBUG=1) only" in result.stderr
        assert "createsuperuser" in result.stderr and "Traceback" not in result.stderr
    assert not get_user_model().objects.exists()
    assert not Run.objects.exists()


def test_no_ledger_key_is_made_up(deployed, tmp_path):
    result = deployed("audit", "public-key")

    assert result.returncode == 1 and result.stdout == ""
    assert "no ledger signing key" in result.stderr and "openssl genpkey -algorithm ed25519" in result.stderr
    assert not list((tmp_path / "data").rglob("*.pem")), "a key was generated"


@pytest.fixture
def developing(worker_env, tmp_path):
    """A development setup (DEBUG=1) with no ledger key configured, and `extra` in its environment."""
    def manage(*args: str, **extra: str) -> subprocess.CompletedProcess:
        env = {**worker_env, "DEBUG": "1", "GATEHOUSE_DATA_DIR": str(tmp_path / "data"), **extra}
        for name in ("GATEHOUSE_LEDGER_KEY", "GATEHOUSE_LEDGER_KEY_FILE"):
            env.pop(name, None)
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=60)

    return manage


def test_a_development_setup_asked_to_require_the_key_makes_none_up_whatever_true_is_spelt(developing, tmp_path):
    # "on" is true for every other flag (config.env.env_bool); this one took only 1/true/yes and generated a key.
    result = developing("audit", "public-key", GATEHOUSE_LEDGER_KEY_REQUIRED="on")

    assert result.returncode == 1 and result.stdout == "", result.stdout
    assert "no ledger signing key" in result.stderr
    assert not list((tmp_path / "data").rglob("*.pem")), "a key was generated"


def test_a_misspelt_key_requirement_stops_the_process_naming_it(developing, tmp_path):
    # A typo left key generation allowed without a word; now it stops the process as DEBUG=flase does.
    result = developing("audit", "public-key", GATEHOUSE_LEDGER_KEY_REQUIRED="ture")

    assert result.returncode != 0 and result.stdout == ""
    assert "GATEHOUSE_LEDGER_KEY_REQUIRED='ture' is not a boolean" in result.stderr
    assert not list((tmp_path / "data").rglob("*.pem")), "a key was generated"
