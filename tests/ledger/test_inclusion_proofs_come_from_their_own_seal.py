"""Proofs are computed one seal at a time: the previous seal's stored frontier plus the leaves sealed since,
not every leaf ever sealed. An entry's downloadable proof is the one the whole tree gives, it verifies
offline against the signed root, and damage under another seal does not block it (the previous seal's
frontier is checked against that seal's signed root and size instead), while damage under its own seal
still refuses it by name. Each seal keeps the consistency proof from the one before, checked against both
signed roots before an export carries it, so a one-run export rebuilds only the seals its entries are in.
A JSONL export over many seals, proved seal by seal, verifies offline."""

from __future__ import annotations

import json

from django.urls import reverse

from audit.merkle import MerkleTree
from audit.models import LedgerEntry, Seal
from audit.offline_verifier import verify_inclusion
from audit.sealing import ledger_seal
from audit.verify import sealed_leaves
from tests.ledger.conftest import lines_of, offline, tamper


def two_seals(letter_run) -> tuple[list, list]:
    first = [letter_run(email=f"first{n}@example.com") for n in range(2)]
    assert ledger_seal() is not None
    second = [letter_run(email=f"second{n}@example.com") for n in range(2)]
    assert ledger_seal() is not None
    return first, second


def proof_of(client, entry: LedgerEntry):
    return client.get(reverse("audit:ledger_proof", args=[entry.gseq]))


def assert_proves(document: dict, entry: LedgerEntry, seal: Seal) -> None:
    proof = document["proof"]
    assert document["seal"]["seal_no"] == seal.seal_no and proof["tree_size"] == seal.tree_size
    path = [bytes.fromhex(p) for p in proof["path"]]
    assert verify_inclusion(bytes.fromhex(entry.hash), proof["leaf_index"], seal.tree_size, path,
                            bytes.fromhex(seal.root))
    # Exactly what the tree over every sealed leaf gives.
    gseqs, leaves = zip(*[(gseq, bytes.fromhex(digest)) for gseq, digest, _c, _s in sealed_leaves(0, seal.last_gseq)],
                        strict=True)
    assert proof["leaf_index"] == gseqs.index(entry.gseq)
    assert path == MerkleTree(leaves).inclusion_proof(proof["leaf_index"], seal.tree_size)


def test_every_entry_of_a_later_seal_is_proven_into_it(letter_run, client_for, compliance_user):
    _first, second = two_seals(letter_run)
    seal = Seal.objects.get(seal_no=2)
    client = client_for(compliance_user)
    for entry in LedgerEntry.objects.filter(chain__in=[r.thread_id for r in second]):
        response = proof_of(client, entry)
        assert response.status_code == 200
        assert_proves(response.json(), entry, seal)


def test_damage_under_another_seal_refuses_only_that_seals_proofs(letter_run, client_for, compliance_user):
    first, second = two_seals(letter_run)
    tamper("DELETE FROM audit_ledgerentry WHERE chain = %s AND seq_run = 4", [first[1].thread_id])
    client = client_for(compliance_user)
    refused = proof_of(client, LedgerEntry.objects.filter(chain=first[0].thread_id).first())
    assert refused.status_code == 409
    assert "seal 1 covers" in refused.content.decode() and "so 1 was deleted" in refused.content.decode()
    later = LedgerEntry.objects.filter(chain=second[0].thread_id).last()
    given = proof_of(client, later)
    assert given.status_code == 200
    document = given.json()
    seal = Seal.objects.get(seal_no=2)
    path = [bytes.fromhex(p) for p in document["proof"]["path"]]
    assert verify_inclusion(bytes.fromhex(later.hash), document["proof"]["leaf_index"], seal.tree_size, path,
                            bytes.fromhex(seal.root))


def test_an_export_over_many_seals_proves_every_entry_and_verifies_offline(letter_run, export, public_key):
    runs = []
    for n in range(4):
        runs.append(letter_run(email=f"r{n}@example.com"))
        assert ledger_seal() is not None
    unsealed = letter_run(email="late@example.com")
    # Every run: every seal, each proven to extend the one before. One run: the seal its entries are in.
    for scope, carried in (([], [1, 2, 3, 4]), (["--run", runs[2].thread_id], [3])):
        path = export("many" + "-".join(scope), *scope)
        objects = [json.loads(line) for line in lines_of(path)]
        assert [o["seal_no"] for o in objects if o["type"] == "seal"] == carried
        assert [o["to_seal"] for o in objects if o["type"] == "consistency"] == carried[1:]
        proven = {o["gseq"]: o["seal_no"] for o in objects if o["type"] == "proof"}
        sealed = [o for o in objects if o["type"] == "entry" and o["run"] != unsealed.thread_id]
        assert len(proven) == len(sealed) > 0
        for entry in sealed:
            assert Seal.objects.get(seal_no=proven[entry["gseq"]]).last_gseq >= entry["gseq"]
        checked = offline(path, public_key)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert checked.stdout.startswith("OK: ")


def test_seals_keep_their_consistency_proof_and_exports_carry_it(letter_run, export):
    for n in range(3):
        letter_run(email=f"r{n}@example.com")
        assert ledger_seal() is not None
    seals = list(Seal.objects.order_by("seal_no"))
    assert seals[0].consistency is None
    gseqs, leaves = zip(*[(g, bytes.fromhex(d)) for g, d, _c, _s in sealed_leaves(0, seals[-1].last_gseq)],
                        strict=True)
    full = MerkleTree(leaves)
    for old, new in zip(seals, seals[1:], strict=False):
        assert new.consistency == [p.hex() for p in full.consistency_proof(old.tree_size, new.tree_size)]
    lines = [json.loads(line) for line in lines_of(export("all"))]
    assert [o["path"] for o in lines if o["type"] == "consistency"] == [s.consistency for s in seals[1:]]


def test_an_altered_consistency_proof_is_named_and_not_exported(letter_run, audit_cli, export, public_key):
    for n in range(2):
        letter_run(email=f"r{n}@example.com")
        assert ledger_seal() is not None
    genuine = Seal.objects.get(seal_no=2).consistency
    tamper("UPDATE audit_seal SET consistency = %s::jsonb WHERE seal_no = 2", [json.dumps(["00" * 32])])
    verified = audit_cli("verify")
    assert verified.returncode == 1
    assert "seal 2's stored consistency proof does not prove seal 1's signed tree a prefix of its own" in (
        verified.stderr)
    # The export recomputes it from the leaves instead: the file carries the genuine proof, and verifies.
    path = export("recomputed")
    assert [o["path"] for o in map(json.loads, lines_of(path)) if o["type"] == "consistency"] == [genuine]
    assert offline(path, public_key).returncode == 0


def test_a_one_run_export_reads_only_the_seals_its_entries_are_in(letter_run, audit_cli, export, public_key, tmp_path):
    """Damage under another seal does not stop it (its proofs do not depend on that seal's leaves, and the
    step between seals is proven by the stored consistency proofs); an export of everything is refused."""
    early = letter_run(email="early@example.com")
    assert ledger_seal() is not None
    later = letter_run(email="later@example.com")
    assert ledger_seal() is not None
    tamper("DELETE FROM audit_ledgerentry WHERE chain = %s AND seq_run = 3", [early.thread_id])
    checked = offline(export("later", "--run", later.thread_id), public_key)
    assert checked.returncode == 0, checked.stdout
    refused = audit_cli("export", "--format", "jsonl", "-o", str(tmp_path / "refused.jsonl"), "--as", "casey")
    assert refused.returncode == 1 and "seal 1 covers" in refused.stderr
    refused = audit_cli("export", "--run", early.thread_id, "--format", "jsonl", "-o", str(tmp_path / "refused.jsonl"), "--as", "casey")
    assert refused.returncode == 1 and "seal 1 covers" in refused.stderr


def test_stored_consistency_proofs_spare_rebuilding_a_damaged_seal_between(letter_run, audit_cli, export, public_key, tmp_path):
    """Runs sealed before and after a damaged seal export and verify: the steps across it are proven by the
    seals' stored consistency proofs, not by rebuilding it. The run under it is refused."""
    runs = []
    for n in range(3):
        runs.append(letter_run(email=f"r{n}@example.com"))
        assert ledger_seal() is not None
    tamper("DELETE FROM audit_ledgerentry WHERE chain = %s AND seq_run = 3", [runs[1].thread_id])
    for run in (runs[0], runs[2]):
        checked = offline(export(f"around-{run.pk}", "--run", run.thread_id), public_key)
        assert checked.returncode == 0, checked.stdout
    refused = audit_cli("export", "--run", runs[1].thread_id, "--format", "jsonl", "-o", str(tmp_path / "refused.jsonl"), "--as", "casey")
    assert refused.returncode == 1 and "seal 2 covers" in refused.stderr
