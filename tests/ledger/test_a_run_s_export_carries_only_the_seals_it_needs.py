"""A seal is made every minute the ledger has new entries, so an old ledger has very many. A JSONL export of
one run carries the seals that signed a head for it, not every seal (format version 6): its size does not
grow with the ledger's age, and it verifies offline, saying how many seals it carries of how many.

A run whose entries lie seals apart carries one consistency proof across the seals left out (computed from
the leaves in between) or, where reading those leaves would cost more than carrying seals (seals of many
entries), the seals in between: either verifies, and an edited proof fails. The manifest signs which seals
are carried, so a removed seal line fails by name. A pruned run's export also carries the seal before the
first that named it: its signed time bounds when the run started, so a prune made early by backdating the
run in the database fails offline."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from django.utils import timezone

from audit import export_seals
from audit.canonical import canonical_json
from audit.export_seals import seals_bridging
from audit.exports import ExportScope, export_stream
from audit.models import Seal
from audit.offline_verifier import verify_consistency
from audit.sealing import ledger_seal
from orchestrator.executor import run_advance
from orchestrator.models import Run
from orchestrator.services import run_start
from tests.audit.ledger_export_builder import _recount
from tests.ledger.conftest import lines_of, offline


def objects_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in lines_of(path)]


def carried(path: Path) -> list[int]:
    return [o["seal_no"] for o in objects_of(path) if o["type"] == "seal"]


def sealed(count: int, letter_run) -> None:
    """`count` more seals, each over a run of its own."""
    for n in range(count):
        letter_run(email=f"other{n}@example.com")
        assert ledger_seal() is not None


def run_sealed_apart(letter_run, between: int) -> Run:
    """A run whose first entry is in seal 1 and the rest in seal `between` + 2, other runs' seals between."""
    run = run_start(workflow="ledger_letter", input={"customer_email": "ana@example.com"})
    assert ledger_seal() is not None
    sealed(between, letter_run)
    assert run_advance(run.pk, worker="test") == "completed"
    assert ledger_seal() is not None
    run.refresh_from_db()
    return run


def test_a_run_s_export_does_not_grow_as_the_ledger_is_sealed_again_and_again(letter_run, export, public_key):
    sealed(1, letter_run)
    run = letter_run()
    assert ledger_seal().seal_no == 2
    before = export("before", "--run", run.thread_id)
    sealed(6, letter_run)
    after = export("after", "--run", run.thread_id)
    assert carried(before) == carried(after) == [2]
    # The same lines but the manifest's newest seal and sealed gseq, and its signature.
    assert abs(len(after.read_bytes()) - len(before.read_bytes())) < 16
    checked = offline(after, public_key)
    assert checked.returncode == 0, checked.stdout
    assert checked.stdout.splitlines()[1] == ("This export carries the 1 seal its entries need, of the 8 seals the "
                                              "ledger had when it was exported.")
    manifest = objects_of(after)[-1]
    assert (manifest["seals"], manifest["last_seal"]) == ([[2, 2]], 8)
    assert manifest["sealed_upto"] == Seal.objects.get(seal_no=8).last_gseq
    # Every run: every seal.
    assert carried(export("all")) == list(range(1, 9))


def test_a_run_sealed_apart_carries_one_proof_across_the_seals_between(letter_run, export, public_key, tmp_path):
    run = run_sealed_apart(letter_run, between=3)
    path = export("apart", "--run", run.thread_id)
    assert carried(path) == [1, 5]
    (proof,) = [o for o in objects_of(path) if o["type"] == "consistency"]
    first, last = Seal.objects.get(seal_no=1), Seal.objects.get(seal_no=5)
    assert (proof["from_seal"], proof["to_seal"]) == (1, 5)
    assert verify_consistency(first.tree_size, last.tree_size, bytes.fromhex(first.root), bytes.fromhex(last.root),
                              [bytes.fromhex(node) for node in proof["path"]])
    checked = offline(path, public_key)
    assert checked.returncode == 0, checked.stdout
    assert checked.stdout.startswith("OK: 8 entries in 1 run, 2 seals, all signatures valid (8 proven into seals, "
                                     "matches its signed manifest)"), checked.stdout

    # The proof edited: the seals no longer show sealed history was only appended to.
    lines = lines_of(path)
    at = next(n for n, line in enumerate(lines) if b'"type":"consistency"' in line)
    edited = {**proof, "path": [proof["path"][0][::-1], *proof["path"][1:]]}
    altered = tmp_path / "altered.jsonl"
    altered.write_bytes(b"".join([*lines[:at], canonical_json(edited) + b"\n", *lines[at + 1:]]))
    checked = offline(altered, public_key)
    assert checked.returncode == 1
    assert f"line {at + 1}: seal 5's tree does not extend seal 1's" in checked.stdout

    # Seal 1 removed with its proof and the proof of the entry in it, the counts edited to match: the manifest
    # signed that the export carries it.
    cut = [line for line, obj in zip(lines, objects_of(path), strict=True)
           if not (obj["type"] == "seal" and obj["seal_no"] == 1 or obj["type"] == "consistency"
                   or obj["type"] == "proof" and obj["seal_no"] == 1)]
    removed = tmp_path / "removed.jsonl"
    removed.write_bytes(b"".join(_recount(cut)))
    checked = offline(removed, public_key)
    assert checked.returncode == 1
    assert "the signed manifest lists the seals 1, 5, but the export carries 5: seal 1's line was removed" in (
        checked.stdout)


def test_seals_cheaper_to_carry_than_to_read_through_are_carried(letter_run, exporter, monkeypatch, tmp_path,
                                                                 public_key):
    run = run_sealed_apart(letter_run, between=3)
    # As if each seal between held more entries than carrying it costs: the seals are carried instead.
    monkeypatch.setattr(export_seals, "SEAL_LINE_IN_LEAVES", 0)
    _, stream = export_stream(scope=ExportScope(run=run.thread_id), fmt="jsonl", actor=exporter.username)
    path = tmp_path / "bridged.jsonl"
    path.write_bytes(b"".join(stream))
    assert carried(path) == [1, 2, 3, 4, 5]
    assert [(o["from_seal"], o["to_seal"]) for o in objects_of(path) if o["type"] == "consistency"] == [
        (1, 2), (2, 3), (3, 4), (4, 5)]
    checked = offline(path, public_key)
    assert checked.returncode == 0, checked.stdout
    # Carried only to prove across: their run heads name no run of this export.
    assert all("chains" not in o for o in objects_of(path) if o["type"] == "seal" and o["seal_no"] in (2, 3, 4))


def test_the_choice_weighs_the_leaves_read_against_the_seals_carried():
    # Seal tree sizes; seals 0 and 5 are needed. Small seals (10 leaves each) are read through.
    small = [10, 20, 30, 40, 50, 60]
    assert seals_bridging(small, [0, 5], seal_cost=64) == [0, 5]
    # Seals of 1,000 leaves each: carrying the four between costs less than reading 5,000 leaves.
    big = [1000 * n for n in range(1, 7)]
    assert seals_bridging(big, [0, 5], seal_cost=64) == [0, 1, 2, 3, 4, 5]
    # One big seal among small ones: carried with its neighbour so that no proof reads through it.
    mixed = [10, 20, 30, 5030, 5040, 5050]
    assert seals_bridging(mixed, [0, 5], seal_cost=64) == [0, 2, 3, 5]
    # However cheap reading is, no proof reads more than the cap: seals are carried to split it.
    assert seals_bridging(small, [0, 5], seal_cost=10**9, gap_max=25) == [0, 2, 4, 5]


def pruned_early(letter_run, audit_cli, admin_user, *, after: int) -> Run:
    """A run sealed after `after` seals of other runs, backdated in the database so that retention prunes it
    now (the seals' signed times say otherwise), pruned, and the prune's record sealed."""
    sealed(after, letter_run)
    old = letter_run(email="old@example.com")
    assert ledger_seal().seal_no == after + 1
    long_ago = timezone.now() - timedelta(days=401)
    Run.objects.filter(pk=old.pk).update(created_at=long_ago, finished_at=long_ago + timedelta(minutes=1))
    pruned = audit_cli("prune", "--actor", admin_user.username)
    assert pruned.returncode == 0 and "pruned 1 run" in pruned.stdout, pruned.stdout + pruned.stderr
    assert ledger_seal() is not None
    return old


def test_a_pruned_run_carries_the_seal_before_its_first_whose_time_bounds_its_start(letter_run, audit_cli,
                                                                                    admin_user, export, public_key):
    old = pruned_early(letter_run, audit_cli, admin_user, after=1)
    path = export("pruned", "--run", old.thread_id)
    assert carried(path) == [1, 2, 3]
    checked = offline(path, public_key)
    assert checked.returncode == 1
    assert (f"run {old.thread_id}'s entries were deleted as pruned under a 400-day retention period" in checked.stdout
            and "but the run started after seal 1 was made on" in checked.stdout
            and "so its entries were deleted outside retention" in checked.stdout), checked.stdout
