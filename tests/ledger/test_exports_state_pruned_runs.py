"""What retention pruned stays provable in an export: a JSONL export of a pruned run (alone, by date range,
or with all runs) states it was pruned (its final length and head, the seal that signed them, when, under
which retention period) instead of entries, and the offline verifier accepts it as "pruned, its head
proven by seal N", recorded by the system chain's retention_pruned entry, which the export includes (format
version 5). Entries that shared a seal with the pruned ones still prove into it. A pruned run whose record
was deleted or whose stated head was altered fails, offline and in `audit verify`; so do entries deleted
behind a forged prune record (no system entry records the prune), and an export whose system entry line was
removed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from audit.canonical import canonical_json
from audit.models import LedgerEntry, PrunedChain, Seal
from audit.sealing import ledger_seal
from orchestrator.models import Run
from tests.ledger.conftest import lines_of, offline, tamper
from tests.pdf_text import pdf_text

LONG_AGO = timezone.now() - timedelta(days=401)


@pytest.fixture
def pruned_and_kept(letter_run, audit_cli, admin_user) -> tuple[Run, Run]:
    """Two runs sealed together in seal 1; the older one (401 days ago) then pruned by `audit prune`."""
    old, kept = letter_run(), letter_run()
    Run.objects.filter(pk=old.pk).update(created_at=LONG_AGO, finished_at=LONG_AGO + timedelta(minutes=1))
    assert ledger_seal() is not None
    pruned = audit_cli("prune", "--actor", admin_user.username)
    assert pruned.returncode == 0 and "pruned 1 run" in pruned.stdout, pruned.stdout + pruned.stderr
    assert not LedgerEntry.objects.filter(chain=old.thread_id).exists()
    old.refresh_from_db()
    return old, kept


def pruned_line(path: Path) -> dict:
    return next(json.loads(line) for line in lines_of(path) if b'"type":"pruned"' in line)


def prune_record(run: Run) -> LedgerEntry:
    """The system chain's entry in which `audit prune` recorded pruning `run`."""
    (entry,) = [e for e in LedgerEntry.objects.filter(chain="system", kind="retention_pruned")
                if run.thread_id in json.loads(e.payload)["runs"]]
    return entry


def test_a_pruned_run_exports_as_pruned_and_verifies_offline(pruned_and_kept, export, public_key):
    old, _ = pruned_and_kept
    record = prune_record(old)
    path = export("pruned-run", "--run", old.thread_id)
    checked = offline(path, public_key)
    assert checked.returncode == 0, checked.stdout
    today = datetime.now(UTC).date().isoformat()
    # Exported before the next seal: the system entry that recorded the prune is not sealed yet.
    said = (f"run {old.thread_id} was pruned by retention on {today} (workflow ledger_letter keeps finished runs 400 "
            f"days; it finished {old.finished_at.date().isoformat()}): its 8 entries are no longer held, and its final "
            f"head (entry 8) is proven by seal 1; retention recorded the prune in entry {record.seq_run} of the system "
            f"chain (gseq {record.gseq}), ")
    assert checked.stdout.splitlines()[:2] == [
        "OK: 0 entries in 0 runs, 1 pruned run (1 system entry records its prune), 1 seal, all signatures valid "
        "(0 proven into seals, matches its signed manifest)",
        said + "not sealed yet",
    ]
    assert f"WARNING: 1 entry is unsealed (newer than the last seal): entry {record.seq_run} of the system chain" \
        in checked.stdout
    assert offline(path, public_key, "--require-sealed").returncode == 1
    # What the database keeps of the run, signed by the manifest too.
    stated = pruned_line(path)
    assert stated == {"type": "pruned", "run": old.thread_id, "length": 8, "head": old.ledger_head, "sealed_by": 1,
                      "pruned_at": stated["pruned_at"], "finished_at": stated["finished_at"],
                      "retention": {"workflow": "ledger_letter", "days": 400}, "recorded_by": [record.gseq]}
    system = [json.loads(line) for line in lines_of(path) if b'"run":"system"' in line]
    assert [(e["type"], e["kind"], e["gseq"], e["hash"]) for e in system] == [
        ("entry", "retention_pruned", record.gseq, record.hash)]
    assert stated["pruned_at"].startswith(today) and PrunedChain.objects.get(chain=old.thread_id).retention_days == 400
    manifest = json.loads(lines_of(path)[-1])
    assert manifest["runs"] == {} and manifest["pruned"] == {old.thread_id: {
        k: v for k, v in stated.items() if k not in ("type", "run")}}

    # Once sealed, the system entry is proven into the seal too.
    assert ledger_seal() is not None
    sealed = offline(export("sealed", "--run", old.thread_id), public_key, "--require-sealed")
    assert sealed.returncode == 0, sealed.stdout
    assert sealed.stdout.splitlines()[1] == said + "proven by seal 2"


def test_a_removed_system_entry_fails_offline(pruned_and_kept, export, public_key):
    old, _ = pruned_and_kept
    record = prune_record(old)
    genuine = export("genuine", "--run", old.thread_id)
    dropped = genuine.with_name("dropped.jsonl")
    kept_lines = [line for line in lines_of(genuine) if b'"run":"system"' not in line]
    header = json.loads(kept_lines[0])
    header["counts"]["entries"] -= 1  # the (unsigned) counts edited to match
    dropped.write_bytes(b"".join([canonical_json(header) + b"\n", *kept_lines[1:]]))
    checked = offline(dropped, public_key)
    assert checked.returncode == 1, checked.stdout
    assert (f"run {old.thread_id}'s pruned line names gseq {record.gseq} of the system chain as the record of its "
            "prune, but the export holds no such entry: it was removed") in checked.stdout


def test_entries_that_shared_a_seal_with_pruned_ones_still_prove_into_it(pruned_and_kept, export, public_key):
    old, kept = pruned_and_kept
    seal = Seal.objects.get(seal_no=1)
    assert old.thread_id in seal.chains and kept.thread_id in seal.chains  # one seal covered both runs
    checked = offline(export("kept-run", "--run", kept.thread_id), public_key)
    assert checked.returncode == 0, checked.stdout
    assert checked.stdout.startswith("OK: 8 entries in 1 run, 1 seal, all signatures valid (8 proven into seals, "
                                     "matches its signed manifest)")


def test_date_ranges_and_all_runs_include_pruned_runs(pruned_and_kept, export, public_key):
    old, kept = pruned_and_kept
    long_ago, today = LONG_AGO.date().isoformat(), datetime.now(UTC).date().isoformat()
    expected = {
        export("all-runs"): ([old, kept], "OK: 8 entries in 1 run, 1 pruned run (1 system entry records its prune), "
                                          "1 seal"),
        export("back-then", "--since", long_ago, "--until", long_ago): ([old], "OK: 0 entries in 0 runs, 1 pruned"),
        export("today", "--since", today): ([kept], "OK: 8 entries in 1 run, 1 seal"),
        export("workflow", "--workflow", "ledger_letter"): ([old, kept], "OK: 8 entries in 1 run, 1 pruned run"),
    }
    for path, (runs, summary) in expected.items():
        header = json.loads(lines_of(path)[0])
        assert header["scope"]["runs"] == [run.thread_id for run in runs], path.name
        checked = offline(path, public_key)
        assert checked.returncode == 0 and checked.stdout.startswith(summary), (path.name, checked.stdout)


def test_a_pruned_run_whose_record_was_deleted_fails(pruned_and_kept, export, public_key, audit_cli):
    old, _ = pruned_and_kept
    tamper("DELETE FROM audit_prunedchain WHERE chain = %s", [old.thread_id])
    for path in (export("pruned-run", "--run", old.thread_id), export("all-runs")):
        checked = offline(path, public_key)
        assert checked.returncode == 1, checked.stdout
        assert (f"run {old.thread_id} is in the header's scope, but the export holds none of its entries and does "
                f"not state it was pruned, though seal 1 signed 8 entries for it: entries 1-8 of run {old.thread_id} "
                "were removed") in checked.stdout, checked.stdout
    verified = audit_cli("verify")
    assert verified.returncode == 1
    assert f"run {old.thread_id} records 8 entries but none remain: entries 1-8 were deleted" in verified.stderr


def test_a_pruned_run_whose_stated_head_was_altered_fails(pruned_and_kept, export, public_key, audit_cli):
    old, kept = pruned_and_kept
    genuine = export("genuine", "--run", old.thread_id)

    # In the file: the pruned line no longer matches what the manifest signed.
    stated = pruned_line(genuine)
    altered = genuine.with_name("altered.jsonl")
    altered.write_bytes(b"".join(
        json.dumps({**stated, "length": 7}).encode() + b"\n" if b'"type":"pruned"' in line else line
        for line in lines_of(genuine)))
    checked = offline(altered, public_key)
    assert checked.returncode == 1
    assert (f"run {old.thread_id}'s pruned line is not what the signed manifest states: it was altered after "
            "export") in checked.stdout

    # In the database: Gatehouse then signs the altered record, which the seal contradicts.
    tamper("UPDATE audit_prunedchain SET head = %s WHERE chain = %s", [kept.ledger_head, old.thread_id])
    checked = offline(export("tampered", "--run", old.thread_id), public_key)
    assert checked.returncode == 1
    assert (f"run {old.thread_id} is stated as pruned at entry 8 (head {kept.ledger_head[:12]}...), but seal 1 "
            f"signed entry 8 (head {old.ledger_head[:12]}...) as its newest: the record of what was pruned was "
            "altered") in checked.stdout
    verified = audit_cli("verify")
    assert verified.returncode == 1
    assert (f"retention's record of pruned run {old.thread_id} says 8 entries, the newest with head "
            f"{kept.ledger_head[:12]}…, but seals signed 8 entries, the newest with head {old.ledger_head[:12]}…: "
            "the prune record was altered") in verified.stderr


def test_entries_deleted_outside_retention_behind_a_forged_prune_record_fail(pruned_and_kept, audit_cli, export,
                                                                             public_key):
    _, kept = pruned_and_kept
    # What retention would have kept, written by hand, and the entries deleted: no prune was recorded.
    tamper("INSERT INTO audit_prunedleaf (gseq, chain, seq_run, hash) "
           "SELECT gseq, chain, seq_run, hash FROM audit_ledgerentry WHERE chain = %s", [kept.thread_id])
    tamper("INSERT INTO audit_prunedchain (chain, length, head, pruned_at, actor, retention_days) "
           "VALUES (%s, 8, %s, now(), 'admin', 400)", [kept.thread_id, kept.ledger_head])
    tamper("DELETE FROM audit_ledgerentry WHERE chain = %s", [kept.thread_id])
    verified = audit_cli("verify")
    assert verified.returncode == 1
    assert (f"run {kept.thread_id}'s entries are gone and a prune record says retention removed them, but no "
            "retention_pruned entry in the system chain records pruning it: they were deleted outside retention"
            ) in verified.stderr
    # Gatehouse exports the run as pruned (its head is the one seal 1 signed), with no system entry to name:
    # the offline verifier fails it, naming the run, from the export alone.
    for path in (export("forged", "--run", kept.thread_id), export("all-runs")):
        forged = next(json.loads(line) for line in lines_of(path) if f'"run":"{kept.thread_id}"'.encode() in line)
        assert forged["type"] == "pruned" and forged["recorded_by"] == [], forged
        checked = offline(path, public_key)
        assert checked.returncode == 1, checked.stdout
        assert (f"run {kept.thread_id} is stated as pruned, but no retention_pruned entry of the system chain records "
                "pruning it: its entries were deleted outside retention, behind a forged prune record"
                ) in checked.stdout, checked.stdout


def test_the_pdf_report_says_a_run_was_pruned_instead_of_showing_empty_tables(pruned_and_kept, audit_cli, exporter,
                                                                              tmp_path):
    old, _ = pruned_and_kept
    pdf_file = tmp_path / "pruned.pdf"

    made = audit_cli("export", "--run", old.thread_id, "--format", "pdf", "-o", str(pdf_file), "--as", "casey")

    assert made.returncode == 0, made.stderr
    text = pdf_text(pdf_file)
    assert f"Pruned on {timezone.now():%Y-%m-%d}" in text and "400-day retention period" in text
    assert "8 entries ending in head" in text and "seal 1 signed that head" in text
    assert "Timeline" not in text and "No human decisions" not in text
