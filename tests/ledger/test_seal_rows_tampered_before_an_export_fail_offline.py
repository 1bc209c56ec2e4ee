"""Format version 6 chooses which seals an export carries from the database (the seal rows' numbers and
their run heads, `chains`): someone who can write the database must not be able to make Gatehouse leave out
the seals that would show what they did. Version 5 carried every seal, so a deleted seal row (a gap in the
numbering) failed offline; version 6 refuses to export. A seal whose run heads were edited to drop a run is
not taken to pin it (nor was it in version 5, which read them from the same column): `audit verify` names it."""

from __future__ import annotations

import json
from array import array

from audit.export_seals import sealed_history_load
from audit.exports import _proof_lines
from audit.models import LedgerEntry, Seal
from audit.sealing import ledger_seal
from orchestrator.executor import run_advance
from orchestrator.models import Run
from orchestrator.services import run_start
from tests.ledger.conftest import offline, refusal, tamper
from tests.ledger.test_a_run_s_export_carries_only_the_seals_it_needs import (
    carried,
    pruned_early,
    run_sealed_apart,
    sealed,
)


def export_of(audit_cli, exporter, tmp_path, name: str, run: str):
    path = tmp_path / f"{name}.jsonl"
    return path, audit_cli("export", "--run", run, "--format", "jsonl", "-o", str(path), "--as", exporter.username)


def cut_to_its_first_entry(run: Run) -> LedgerEntry:
    """Entries 2-8 of `run` cut from the database (their Merkle leaves kept, so every seal still rebuilds) and
    its run row rewritten: Gatehouse then signs a manifest of a one-entry run."""
    first = LedgerEntry.objects.get(chain=run.thread_id, seq_run=1)
    tamper("INSERT INTO audit_prunedleaf (gseq, chain, seq_run, hash) SELECT gseq, chain, seq_run, hash "
           "FROM audit_ledgerentry WHERE chain = %s AND seq_run > 1", [run.thread_id])
    tamper("DELETE FROM audit_ledgerentry WHERE chain = %s AND seq_run > 1", [run.thread_id])
    tamper("UPDATE orchestrator_run SET ledger_len = 1, ledger_head = %s WHERE id = %s", [first.hash, run.pk])
    return first


def sealed_in_two_parts(letter_run) -> Run:
    """A run whose first entry is in seal 1 and the rest in seal 2 (which pins its length), then two seals more."""
    run = run_start(workflow="ledger_letter", input={"customer_email": "ana@example.com"})
    assert ledger_seal() is not None
    assert run_advance(run.pk, worker="test") == "completed"
    assert ledger_seal() is not None
    sealed(2, letter_run)
    run.refresh_from_db()
    return run


def test_a_deleted_seal_row_before_a_pruned_run_s_first_seal_refuses_the_export(
        letter_run, audit_cli, admin_user, exporter, export, public_key, tmp_path):
    old = pruned_early(letter_run, audit_cli, admin_user, after=2)
    genuine = export("genuine", "--run", old.thread_id)
    assert carried(genuine) == [2, 3, 4]
    assert "but the run started after seal 2 was made on" in offline(genuine, public_key).stdout
    # Seal 2, whose signed time shows the prune came inside the retention period, deleted: Gatehouse used to
    # carry seal 1 in its place, and the export passed offline.
    tamper("DELETE FROM audit_seal WHERE seal_no = 2")
    path, made = export_of(audit_cli, exporter, tmp_path, "hidden", old.thread_id)
    assert "seal 2 is missing from the database (seals are numbered without gaps, so its row was deleted)" in (
        refusal(made))
    assert not path.exists()


def test_a_run_cut_in_the_database_behind_a_deleted_seal_row_refuses_the_export(
        letter_run, audit_cli, exporter, tmp_path):
    run = sealed_in_two_parts(letter_run)
    cut_to_its_first_entry(run)
    tamper("DELETE FROM audit_seal WHERE seal_no = 2")  # the seal that pinned the run at 8 entries
    path, made = export_of(audit_cli, exporter, tmp_path, "cut", run.thread_id)
    assert "seal 2 is missing from the database" in refusal(made)
    assert not path.exists()
    # An export of every run is refused the same way.
    made = audit_cli("export", "--format", "jsonl", "-o", str(tmp_path / "all.jsonl"), "--as", exporter.username)
    assert "seal 2 is missing from the database" in refusal(made)


def test_a_pinning_seal_s_run_heads_edited_in_the_database_are_named_by_verify(
        letter_run, audit_cli, exporter, export, public_key, tmp_path):
    # What an export cannot show (docs/ledger-export-format.md, Limits; version 5 could not either): a run cut
    # in the database and removed from its pinning seal's run heads there. The seal's row no longer names the
    # run, so no export carries its signed heads for it; `audit verify` checks every seal's run heads against
    # their signature, and names the seal.
    run = sealed_in_two_parts(letter_run)
    assert carried(export("whole", "--run", run.thread_id)) == [1, 2]
    cut_to_its_first_entry(run)
    tamper("UPDATE audit_seal SET chains = chains - %s WHERE seal_no = 2", [run.thread_id])
    verified = audit_cli("verify")
    assert verified.returncode == 1
    assert ("FAILED: seal 2 was modified: the run heads recorded in seal 2 were altered after signing"
            in verified.stderr)
    assert "seal 2 differs from its copy outside the database" in verified.stderr


def test_an_entry_in_a_seal_left_out_gets_no_proof_rather_than_breaking_the_download(letter_run):
    # Seals 1 and 3 carried for the run, seal 2 (another run's) proven across. Should rows change between
    # choosing the seals and writing the export, an entry sealed by seal 2 is left without a proof.
    run = run_sealed_apart(letter_run, between=1)
    history = sealed_history_load([run.thread_id])
    assert [seal.seal_no for seal in history.seals] == [1, 3]
    seal_2 = Seal.objects.get(seal_no=2)
    inside = LedgerEntry.objects.filter(gseq__gt=history.seals[0].last_gseq, gseq__lte=seal_2.last_gseq).first()
    ours = LedgerEntry.objects.filter(chain=run.thread_id, gseq__gt=seal_2.last_gseq).order_by("gseq")
    proven = array("q", sorted([inside.gseq, *ours.values_list("gseq", flat=True)]))
    lines = [json.loads(line) for line in _proof_lines(history.seals, history.frames, proven)]
    assert [line["gseq"] for line in lines] == list(ours.values_list("gseq", flat=True))
