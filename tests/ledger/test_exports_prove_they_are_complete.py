"""A JSONL export made by `manage.py audit export` proves it is complete: cutting a run's newest entries
out of it (sealed or not, the header's counts edited to match) fails the offline verifier, which names
the run and says "truncated"; so does a forged manifest, and so do sealed entries cut from the database
before the export, even with the seal heads that show it stripped. Untouched exports pass, whatever
their scope."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.canonical import canonical_json
from audit.exports import ExportError, ExportScope, export_stream
from audit.models import LedgerEntry, Seal
from audit.sealing import ledger_seal
from orchestrator.executor import run_advance
from orchestrator.models import Run
from orchestrator.services import run_start
from tests.audit.ledger_export_builder import cut_run, resign_manifest
from tests.ledger.conftest import lines_of, offline, tamper


@pytest.fixture
def sealed_and_unsealed(letter_run) -> tuple[Run, Run]:
    """One run whose 8 entries are sealed, and one newer run that no seal covers yet."""
    sealed = letter_run()
    assert ledger_seal() is not None
    return sealed, letter_run()


def rewrite(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(lines))
    return path


def test_untouched_exports_verify_per_run_by_date_range_and_all_runs(letter_run, export, public_key, tmp_path):
    before_any_seal = letter_run()
    first = export("before-any-seal", "--run", before_any_seal.thread_id)
    checked = offline(first, public_key)
    assert checked.returncode == 0, checked.stdout
    assert checked.stdout.startswith("OK: 8 entries in 1 run, no seals (0 proven into seals, matches its signed "
                                     "manifest)")

    assert ledger_seal() is not None
    unsealed = letter_run()
    today = datetime.now(UTC).date().isoformat()
    exports = {
        export("sealed-run", "--run", before_any_seal.thread_id): 8,
        export("unsealed-run", "--run", unsealed.thread_id): 8,
        export("today", "--since", today, "--until", today): 16,
        export("since", "--since", "2000-01-01", "--workflow", "ledger_letter"): 16,
        export("all-runs"): 16,
    }
    for path, entries in exports.items():
        checked = offline(path, public_key)
        assert checked.returncode == 0, (path.name, checked.stdout)
        assert checked.stdout.startswith(f"OK: {entries} entries in {entries // 8} run"), checked.stdout
        assert "matches its signed manifest" in checked.stdout

    # The manifest, last, signs each run's length and head as Gatehouse holds them.
    manifest = json.loads(lines_of(tmp_path / "all-runs.jsonl")[-1])
    assert manifest["type"] == "manifest" and manifest["last_seal"] == 1
    assert manifest["runs"] == {run.thread_id: [run.ledger_len, run.ledger_head]
                                for run in Run.objects.filter(thread_id__in=[before_any_seal.thread_id,
                                                                             unsealed.thread_id])}
    # A one-run export carries the seals that pin the run, with their signed run heads; a run no seal
    # pins yet carries none.
    seals_of = {name: [json.loads(line) for line in lines_of(tmp_path / f"{name}.jsonl") if b'"type":"seal"' in line]
                for name in ("sealed-run", "unsealed-run")}
    assert [seal["chains"][before_any_seal.thread_id][0] for seal in seals_of["sealed-run"]] == [8]
    assert seals_of["unsealed-run"] == []


def test_a_sealed_run_cut_at_the_end_fails_as_truncated(sealed_and_unsealed, export, public_key):
    sealed, _ = sealed_and_unsealed
    path = export("all-runs")
    checked = offline(rewrite(path, cut_run(lines_of(path), sealed.thread_id, 5)), public_key)
    assert checked.returncode == 1
    first = checked.stdout.splitlines()[0]
    assert first.startswith("FAIL: line ")
    assert first.endswith(f"run {sealed.thread_id} was truncated: it ends at entry 5, but its seal recorded 8 entries, "
                          f"so entries 6-8 of run {sealed.thread_id} were removed (3 missing; seal 1 signed the run's "
                          "length)")


def test_sealed_entries_cut_from_the_database_fail_though_their_seal_heads_are_stripped(
        letter_run, export, public_key, tmp_path):
    # A run sealed in two parts: its first entry by seal 1, the rest by seal 2.
    run = run_start(workflow="ledger_letter", input={"customer_email": "ana@example.com"})
    assert ledger_seal() is not None
    assert run_advance(run.pk, worker="test") == "completed"
    assert ledger_seal() is not None
    run.refresh_from_db()
    first = LedgerEntry.objects.get(chain=run.thread_id, seq_run=1)
    assert run.ledger_len == 8 and Seal.objects.get(seal_no=1).chains[run.thread_id] == [1, first.hash]
    whole = export("whole", "--run", run.thread_id)
    checked = offline(whole, public_key)
    assert checked.returncode == 0, checked.stdout
    manifest = json.loads(lines_of(whole)[-1])
    assert manifest["version"] == 6 and manifest["pinned_by"] == {run.thread_id: 2}

    # Entries 2-8 cut from the database (their Merkle leaves kept, so the seals still rebuild and Gatehouse
    # exports) and the run row rewritten: Gatehouse signs a manifest of a one-entry run.
    tamper("INSERT INTO audit_prunedleaf (gseq, chain, seq_run, hash) SELECT gseq, chain, seq_run, hash "
           "FROM audit_ledgerentry WHERE chain = %s AND seq_run > 1", [run.thread_id])
    tamper("DELETE FROM audit_ledgerentry WHERE chain = %s AND seq_run > 1", [run.thread_id])
    tamper("UPDATE orchestrator_run SET ledger_len = 1, ledger_head = %s WHERE id = %s", [first.hash, run.pk])
    path = export("cut", "--run", run.thread_id)
    assert json.loads(lines_of(path)[-1])["runs"] == {run.thread_id: [1, first.hash]}
    truncated = offline(path, public_key)
    assert truncated.returncode == 1
    assert (f"run {run.thread_id} was truncated: it ends at entry 1, but its seal recorded 8 entries, so entries "
            f"2-8 of run {run.thread_id} were removed (7 missing; seal 2 signed the run's length)"
            ) in truncated.stdout.splitlines()[0]

    # Seal 2 covers none of the exported entries: its run heads are what the holder of the export strips.
    lines = lines_of(path)
    at = next(n for n, line in enumerate(lines) if b'"type":"seal"' in line and b'"seal_no":2,' in line)
    seal = {k: v for k, v in json.loads(lines[at]).items() if k not in ("chains", "chains_signature")}
    stripped = offline(rewrite(tmp_path / "stripped.jsonl", [*lines[:at], canonical_json(seal) + b"\n",
                                                             *lines[at + 1:]]), public_key)
    assert stripped.returncode == 1
    assert stripped.stdout.splitlines()[0] == (
        f"FAIL: line {at + 1}: seal 2 carries no signed run heads (chains), but the signed manifest says it is "
        f"the newest seal to pin run {run.thread_id}: its run heads were removed, which hides how long run "
        f"{run.thread_id} was when seal 2 signed it. The export was altered after it was made; ask Gatehouse's "
        "operators for a new one")


def test_unsealed_newest_entries_cut_fail_against_the_manifest(sealed_and_unsealed, export, public_key):
    _, unsealed = sealed_and_unsealed
    path = export("unsealed-run", "--run", unsealed.thread_id)
    checked = offline(rewrite(path, cut_run(lines_of(path), unsealed.thread_id, 6)), public_key)
    assert checked.returncode == 1
    assert (f"run {unsealed.thread_id} was truncated: it ends at entry 6, but the signed manifest lists 8 entries, "
            f"so entries 7-8 of run {unsealed.thread_id} were removed (2 missing)") in checked.stdout.splitlines()[0]


def test_a_forged_manifest_fails(sealed_and_unsealed, export, public_key):
    _, unsealed = sealed_and_unsealed
    path = export("unsealed-run", "--run", unsealed.thread_id)
    cut = cut_run(lines_of(path), unsealed.thread_id, 6)
    manifest = json.loads(cut[-1])
    sixth = json.loads(next(line for line in cut if b'"seq_run":6,' in line))
    manifest["runs"][unsealed.thread_id] = [6, sixth["hash"]]
    edited = offline(rewrite(path, [*cut[:-1], json.dumps(manifest).encode() + b"\n"]), public_key)
    assert edited.returncode == 1
    assert "the manifest's signature is not valid: the manifest was altered after export" in edited.stdout

    attacker = Ed25519PrivateKey.generate()
    resigned = offline(rewrite(path, resign_manifest(cut, attacker)), public_key)
    assert resigned.returncode == 1
    assert "the manifest was signed by key" in resigned.stdout
    assert "which is not among the public keys given: pass the ledger's current public key" in resigned.stdout


def test_what_the_verifier_tells_its_users(sealed_and_unsealed, export, public_key, tmp_path):
    sealed, _ = sealed_and_unsealed
    path = export("sealed-run", "--run", sealed.thread_id)
    genuine = lines_of(path)

    # A download cut short loses the manifest, the export's last line.
    short = offline(rewrite(tmp_path / "short.jsonl", genuine[:-1]), public_key)
    assert short.returncode == 1
    assert short.stdout.startswith("FAIL: the export has no manifest line: it was removed, or the file was cut short "
                                   "(an interrupted download?); export it again")

    # The version 1 format could not show it was complete: an export claiming it is refused unless asked.
    header = json.loads(genuine[0]) | {"version": 1}
    old_seal = {k: v for k, v in json.loads(genuine[9]).items() if k not in ("chains", "chains_signature")}
    assert old_seal["type"] == "seal"
    # Written as version 1 exports were: canonical JSON lines (the verifier holds every line to it).
    version_1 = rewrite(tmp_path / "v1.jsonl", [canonical_json(header) + b"\n", *genuine[1:9],
                                                 canonical_json(old_seal) + b"\n", *genuine[10:-1]])
    refused = offline(version_1, public_key)
    assert refused.returncode == 1
    assert refused.stdout.startswith("FAIL: line 1: this is a version 1 export") and "--allow-version-1" in refused.stdout
    allowed = offline(version_1, public_key, "--allow-version-1")
    assert allowed.returncode == 0, allowed.stdout
    assert "WARNING: this is a version 1 export: it has no signed manifest" in allowed.stdout

    missing = offline(tmp_path / "no-such-export.jsonl", public_key)
    assert missing.returncode == 2 and missing.stderr.startswith("error:") and missing.stdout == ""


def test_a_jsonl_export_without_a_ledger_key_says_so_and_records_nothing(letter_run, settings, monkeypatch, tmp_path):
    run = letter_run()
    settings.DEBUG = False  # a deployment: the key must be configured, never generated
    settings.GATEHOUSE_LEDGER_KEY_REQUIRED = True
    monkeypatch.setenv("GATEHOUSE_DATA_DIR", str(tmp_path / "no-key-here"))
    for name in ("GATEHOUSE_LEDGER_KEY", "GATEHOUSE_LEDGER_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    exports = LedgerEntry.objects.filter(kind="export").count()
    with pytest.raises(ExportError) as refused:
        export_stream(scope=ExportScope(run=run.thread_id), fmt="jsonl", actor="casey")
    assert str(refused.value) == (
        "no ledger signing key: set GATEHOUSE_LEDGER_KEY or GATEHOUSE_LEDGER_KEY_FILE (make one with `openssl "
        "genpkey -algorithm ed25519 -out ledger.pem`, kept secret, the same on every host). A JSONL export is signed "
        "with the ledger key, so nothing was exported; CSV and PDF exports need no key")
    assert LedgerEntry.objects.filter(kind="export").count() == exports
    _, csv_stream = export_stream(scope=ExportScope(run=run.thread_id), fmt="csv", actor="casey")
    assert b"".join(csv_stream).count(b"\n") == 1 + 8
