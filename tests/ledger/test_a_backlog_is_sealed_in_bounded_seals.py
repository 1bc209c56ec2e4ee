"""Sealing holds a seal's range in memory, so a backlog is sealed in seals of at most
GATEHOUSE_SEAL_MAX_ENTRIES entries, one after another until it is caught up (the CLI and the loop alike),
and the ledger verifies across them."""

from __future__ import annotations

import subprocess
import sys

from audit import sealing
from audit.models import LedgerEntry, Seal
from audit.sealing import seals_catch_up
from tests.workers import ROOT


def test_a_backlog_is_sealed_in_seals_no_larger_than_the_limit(letter_run, audit_cli, settings):
    for n in range(2):
        letter_run(email=f"r{n}@example.com")
    total = LedgerEntry.objects.count()
    made = seals_catch_up(max_entries=5)
    sizes = [seal.tree_size for seal in made]
    assert sizes[-1] == total and len(made) == -(-total // 5)  # ceil: every entry, five at a time
    assert all(b - a <= 5 for a, b in zip([0, *sizes], sizes, strict=False))
    assert seals_catch_up(max_entries=5) == []
    letter_run(email="late@example.com")
    settings.GATEHOUSE_SEAL_MAX_ENTRIES = 1_000  # the setting is the default limit
    assert len(seals_catch_up()) == 1
    verified = audit_cli("verify")
    assert verified.returncode == 0, verified.stderr
    assert f"{Seal.objects.count()} seals" in verified.stdout


def test_the_cli_catches_up_in_several_seals(letter_run, audit_cli):
    letter_run()
    total = LedgerEntry.objects.count()
    done = subprocess.run([sys.executable, "manage.py", "audit", "seal"], cwd=ROOT, capture_output=True, text=True,
                          env={**audit_cli.env, "GATEHOUSE_SEAL_MAX_ENTRIES": "4"}, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == -(-total // 4) == Seal.objects.count()
    assert lines[-1].startswith(f"sealed {len(lines)}: {total:,} entries in the tree")


def test_catching_up_stops_after_a_seal_that_was_not_full(letter_run, monkeypatch):
    """Writers that never pause cannot keep the sealer catching up forever."""
    letter_run(email="a@example.com")
    limit = LedgerEntry.objects.count() + 1
    real, calls = sealing.ledger_seal, []

    def busy(**kwargs):  # a new run lands after every seal
        seal = real(**kwargs)
        calls.append(seal)
        if len(calls) <= 3:
            letter_run(email=f"busy{len(calls)}@example.com")
        return seal

    monkeypatch.setattr(sealing, "ledger_seal", busy)
    made = sealing.seals_catch_up(max_entries=limit)
    assert len(made) == 1 and len(calls) == 1
