"""An entry's downloadable inclusion proof is computed from its own seal: the previous seal's stored
frontier plus the leaves sealed since, not every leaf ever sealed. It is the proof the whole tree gives,
it verifies offline against the signed root, and damage under another seal does not block it (the
signed root vouches for the frontier), while damage under its own seal still refuses it by name."""

from __future__ import annotations

from django.urls import reverse

from audit.exports import sealed_tree_load
from audit.models import LedgerEntry, Seal
from audit.offline_verifier import verify_inclusion
from audit.sealing import ledger_seal
from tests.ledger.conftest import tamper


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
    full, index = sealed_tree_load(seal)
    assert proof["leaf_index"] == index[entry.gseq]
    assert path == full.inclusion_proof(index[entry.gseq], seal.tree_size)


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
