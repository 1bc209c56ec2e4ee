"""Ledger rows deleted or changed in the database (triggers disabled) under a seal leave no Merkle tree to
prove exported entries into: a JSONL export is then refused before anything is recorded or sent, from the
CLI and the audit page alike, with a message that says what was found and to run `audit verify` (which
names the entry). Rows deleted after the last seal leave the proofs intact: the export goes through, and
the offline verifier names what is missing against the manifest."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from audit.chain import entry_hash
from audit.models import LedgerEntry, Seal
from audit.sealing import Frontier, ledger_seal
from audit.verify import sealed_leaves
from tests.ledger.conftest import offline, tamper

ADVICE = ("Run `manage.py audit verify` to see which entries were deleted or changed, and restore them (e.g. from "
          "a backup) before exporting again")


@pytest.fixture
def sealed_runs(letter_run, audit_cli):
    """Three completed runs, sealed together in seal 1 and verifying cleanly."""
    runs = [letter_run(email=f"user{n}@example.com") for n in range(3)]
    assert ledger_seal() is not None
    assert audit_cli("verify").returncode == 0
    return runs


def exports_recorded() -> int:
    return LedgerEntry.objects.filter(chain="system", kind="export").count()


def damage(how: str, thread_id: str) -> str:
    """Tamper with entry 4 of the run; returns what the refusal says was found."""
    seal = Seal.objects.get(seal_no=1)
    span = f"seal 1 covers {seal.tree_size} entries (entries gseq {seal.first_gseq}-{seal.last_gseq})"
    if how == "deleted":
        tamper("DELETE FROM audit_ledgerentry WHERE chain = %s AND seq_run = 4", [thread_id])
        return f"{span}; only {seal.tree_size - 1} remain, so 1 was deleted"
    entry = LedgerEntry.objects.get(chain=thread_id, seq_run=4)
    body = {"run": thread_id, "seq_run": 4, "kind": entry.kind, "step": entry.step, "actor": "mallory",
            "at": entry.at, "payload": {"forged": True}}
    tamper("UPDATE audit_ledgerentry SET actor = 'mallory', payload = %s, hash = %s WHERE gseq = %s",
           ['{"forged":true}', entry_hash(body, entry.prev), entry.gseq])
    return (f"the entries in seal 1's range (entries gseq {seal.first_gseq}-{seal.last_gseq}) no longer rebuild "
            "its signed Merkle root: an entry was re-hashed or its gseq changed")


@pytest.mark.parametrize("how", ["deleted", "re-hashed"])
def test_the_cli_refuses_and_leaves_no_file(sealed_runs, audit_cli, exporter, tmp_path, how):
    damaged, untouched = sealed_runs[1], sealed_runs[0]
    found = damage(how, damaged.thread_id)
    before = exports_recorded()
    earlier = tmp_path / "export.jsonl"
    earlier.write_text("an earlier export\n")
    for scope in (["--run", untouched.thread_id], ["--run", damaged.thread_id], []):
        refused = audit_cli("export", *scope, "--format", "jsonl", "-o", str(earlier), "--as", "casey")
        assert refused.returncode == 1, refused.stdout
        assert refused.stderr.strip() == (
            f"CommandError: the ledger in the database no longer matches its seals ({found}), so no inclusion "
            f"proof can be computed and nothing was exported. {ADVICE}")
    assert earlier.read_text() == "an earlier export\n"  # neither overwritten nor half written
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".jsonl" or p.name.startswith(".")] == ["export.jsonl"]
    assert exports_recorded() == before
    # `audit verify` names the entry; CSV, which proves nothing, still exports what is there.
    verified = audit_cli("verify")
    assert verified.returncode == 1 and f"entry 4 of run {damaged.thread_id}" in verified.stderr
    assert audit_cli("export", "--format", "csv", "-o", str(tmp_path / "all.csv"), "--as", "casey").returncode == 0


def test_the_audit_page_refuses_before_the_download_starts(sealed_runs, client_for, compliance_user):
    damaged = sealed_runs[1]
    found = damage("deleted", damaged.thread_id)
    before = exports_recorded()
    client = client_for(compliance_user)
    response = client.post(reverse("audit:ledger_export"), {"run": sealed_runs[0].thread_id, "format": "jsonl"})
    assert response.status_code == 409 and not response.streaming
    assert "Content-Disposition" not in response
    page = response.content.decode()
    assert "The ledger in the database no longer matches its seals" in page and found in page  # a banner: capitalised
    assert "audit verify" in page
    assert exports_recorded() == before
    # An inclusion proof from that tree would be wrong, so it is refused the same way.
    gseq = LedgerEntry.objects.filter(chain=sealed_runs[0].thread_id).first().gseq
    proof = client.get(reverse("audit:ledger_proof", args=[gseq]))
    assert proof.status_code == 409 and found in proof.content.decode()


def test_unsealed_entries_deleted_export_and_fail_offline_by_name(sealed_runs, letter_run, export, public_key):
    unsealed = letter_run()  # newer than seal 1: no proof to compute
    tamper("DELETE FROM audit_ledgerentry WHERE chain = %s AND seq_run > 6", [unsealed.thread_id])
    path = export("unsealed", "--run", unsealed.thread_id)
    checked = offline(path, public_key)
    assert checked.returncode == 1
    # The manifest signs the run's length and head as its run row records them, not as found.
    assert checked.stdout.splitlines()[0].endswith(
        f"run {unsealed.thread_id} was truncated: it ends at entry 6, but the signed manifest lists 8 entries, so "
        f"entries 7-8 of run {unsealed.thread_id} were removed (2 missing)")


def test_an_altered_frontier_cannot_hide_deleted_entries(letter_run, audit_cli, exporter, client_for, compliance_user,
                                                         tmp_path):
    """A seal's stored frontier is not signed. Replaced by the real frontier of a larger tree, with the leaves in
    between deleted, the next seal still rebuilds to its signed root and size from it: the frontier must fold into
    its own seal's signed root at that seal's size before anything builds on it."""
    for n in range(2):
        letter_run(email=f"first{n}@example.com")
    first = ledger_seal()
    later = [letter_run(email=f"second{n}@example.com") for n in range(2)]
    assert ledger_seal() is not None
    leaves = [(gseq, bytes.fromhex(digest)) for gseq, digest, _c, _s in sealed_leaves(0, first.last_gseq + 1)]
    assert len(leaves) == first.tree_size + 1
    bigger = Frontier(0, [])
    for _gseq, leaf in leaves:
        bigger.append(leaf)
    tamper("UPDATE audit_seal SET frontier = %s::jsonb WHERE seal_no = 1", [json.dumps(bigger.dump())])
    tamper("DELETE FROM audit_ledgerentry WHERE gseq = %s", [leaves[-1][0]])
    said = "seal 1's stored frontier (the subtrees the next seal's tree is built on) does not fold into its signed root"

    verified = audit_cli("verify")
    assert verified.returncode == 1 and said in verified.stderr
    entry = LedgerEntry.objects.filter(chain=later[1].thread_id).last()
    proof = client_for(compliance_user).get(reverse("audit:ledger_proof", args=[entry.gseq]))
    assert proof.status_code == 409 and said in proof.content.decode()
    before = exports_recorded()
    refused = audit_cli("export", "--run", later[1].thread_id, "--format", "jsonl", "-o", str(tmp_path / "refused.jsonl"), "--as", "casey")
    assert refused.returncode == 1 and said in refused.stderr
    assert exports_recorded() == before
    # The sealer will not extend a tree from a frontier that is not its seal's.
    tamper("UPDATE audit_seal SET frontier = '[[1, \"00\"]]'::jsonb WHERE seal_no = 2")
    letter_run(email="third@example.com")
    sealed = audit_cli("seal")
    assert sealed.returncode == 1
    assert "seal 2's stored frontier does not fold into its signed root: it was altered" in sealed.stderr
    assert Seal.objects.count() == 2


@pytest.mark.parametrize("how", ["one node", "a hash changed"])
def test_the_sealer_refuses_a_frontier_that_is_not_its_seals(letter_run, audit_cli, how):
    for n in range(3):
        letter_run(email=f"r{n}@example.com")
    seal = ledger_seal()
    assert seal.tree_size & (seal.tree_size - 1)  # not a power of two: its frontier has several nodes
    if how == "one node":  # folds into the signed root, but is not one subtree per set bit of the size
        forged = [[seal.tree_size, seal.root]]
    else:  # the right sizes, a node's hash changed
        forged = [list(node) for node in seal.frontier]
        forged[-1][1] = "00" * 32
    tamper("UPDATE audit_seal SET frontier = %s::jsonb WHERE seal_no = %s", [json.dumps(forged), seal.seal_no])
    letter_run(email="next@example.com")
    sealed = audit_cli("seal")
    assert sealed.returncode == 1
    assert f"seal {seal.seal_no}'s stored frontier does not fold into its signed root" in sealed.stderr
    assert Seal.objects.count() == 1
