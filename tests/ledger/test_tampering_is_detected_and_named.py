"""An attacker with database access (triggers disabled) edits the ledger; `audit verify` — the real
command — exits non-zero and names the entry and what happened to it."""

from __future__ import annotations

import json

import pytest

from audit.chain import entry_hash
from audit.models import LedgerEntry, Seal
from audit.sealing import ledger_seal
from tests.ledger.conftest import tamper


@pytest.fixture
def sealed_runs(letter_run, audit_cli):
    """Three completed runs, sealed, verifying cleanly. Returns the middle run's thread id."""
    runs = [letter_run(email=f"user{n}@example.com") for n in range(3)]
    assert ledger_seal() is not None
    clean = audit_cli("verify")
    assert clean.returncode == 0, clean.stderr
    assert "OK:" in clean.stdout
    return runs[1].thread_id


def _row(chain: str, seq: int) -> LedgerEntry:
    return LedgerEntry.objects.get(chain=chain, seq_run=seq)


def _failed(audit_cli, *args: str) -> str:
    result = audit_cli("verify", *args)
    assert result.returncode == 1, f"verify passed after tampering:\n{result.stdout}{result.stderr}"
    return result.stderr


def test_it_names_an_entry_whose_field_was_changed(sealed_runs, audit_cli):
    thread = sealed_runs
    tamper("UPDATE audit_ledgerentry SET payload = replace(payload, '\"attempt\":1', '\"attempt\":2') "
           "WHERE chain = %s AND seq_run = 3", [thread])
    out = _failed(audit_cli)
    assert f"entry 3 of run {thread}" in out
    assert "modified" in out


def test_it_names_a_deleted_middle_entry(sealed_runs, audit_cli):
    thread = sealed_runs
    tamper("DELETE FROM audit_ledgerentry WHERE chain = %s AND seq_run = 4", [thread])
    out = _failed(audit_cli, "--run", thread)
    assert f"entry 4 of run {thread}" in out
    assert "deleted" in out
    # The seal covering the run's entries is rebuilt too, and is short of one leaf.
    assert "seal 1 covers" in out and "so 1 was deleted" in out


@pytest.mark.parametrize("cover_up", ["nothing", "run row", "run row and seals"])
def test_it_detects_the_newest_entries_deleted_after_a_seal(sealed_runs, audit_cli, seal_dir, cover_up):
    thread = sealed_runs
    kept = _row(thread, 5)
    tamper("DELETE FROM audit_ledgerentry WHERE chain = %s AND seq_run > 5", [thread])
    if cover_up in ("run row", "run row and seals"):
        tamper("UPDATE orchestrator_run SET ledger_len = 5, ledger_head = %s WHERE thread_id = %s",
               [kept.hash, thread])
    if cover_up == "run row and seals":
        tamper("DELETE FROM audit_seal")
        assert not Seal.objects.exists() and list(seal_dir.glob("seal-*.json"))
    out = _failed(audit_cli)
    assert "truncated" in out
    assert f"run {thread}" in out
    if cover_up == "run row and seals":
        assert "exists outside the database" in out  # the seal copy is what gives it away
    else:
        assert "entries 6-8" in out


def test_it_names_two_swapped_entries(sealed_runs, audit_cli):
    thread = sealed_runs
    tamper("UPDATE audit_ledgerentry SET seq_run = -1 WHERE chain = %s AND seq_run = 3", [thread])
    tamper("UPDATE audit_ledgerentry SET seq_run = 3 WHERE chain = %s AND seq_run = 4", [thread])
    tamper("UPDATE audit_ledgerentry SET seq_run = 4 WHERE chain = %s AND seq_run = -1", [thread])
    out = _failed(audit_cli)
    assert "reordered" in out
    assert f"of run {thread}" in out


def test_it_names_a_forged_entry_even_when_its_hash_links(sealed_runs, audit_cli):
    thread = sealed_runs
    head = _row(thread, 8)
    forged = {"run": thread, "seq_run": 9, "kind": "decision", "step": 7, "actor": "mallory",
              "at": "2030-01-01T00:00:00.000000Z", "payload": {"decision": "approve"}}
    tamper("INSERT INTO audit_ledgerentry (chain, run_id, seq_run, kind, step, actor, at, payload, prev, hash,"
           " redacted) VALUES (%s, %s, 9, 'decision', 7, 'mallory', %s, %s, %s, %s, false)",
           [thread, head.run_id, forged["at"], json.dumps(forged["payload"], separators=(",", ":")), head.hash,
            entry_hash(forged, head.hash)])
    out = _failed(audit_cli)
    assert f"entry 9 of run {thread}" in out
    assert "inserted" in out


def test_it_names_entries_of_a_run_that_never_existed(sealed_runs, audit_cli):
    first = LedgerEntry.objects.order_by("gseq").first()
    forged = {"run": "T-forged", "seq_run": 1, "kind": "run_started", "step": 0, "actor": "mallory",
              "at": first.at, "payload": {}}
    tamper("INSERT INTO audit_ledgerentry (chain, seq_run, kind, step, actor, at, payload, prev, hash, redacted)"
           " VALUES ('T-forged', 1, 'run_started', 0, 'mallory', %s, '{}', %s, %s, false)",
           [first.at, "0" * 64, entry_hash(forged, "0" * 64)])
    out = _failed(audit_cli)
    assert "run T-forged" in out
    assert "inserted" in out
