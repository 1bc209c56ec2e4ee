"""Build an in-memory ledger and its JSONL export with the audit modules, for the verifier tests.

It follows docs/ledger-export-format.md the way the real exporter must, so it doubles as a worked example.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.canonical import canonical_json, payload_digest
from audit.chain import GENESIS, entry_hash
from audit.exports import export_manifest
from audit.merkle import MerkleTree
from audit.offline_verifier import seal_ranges
from audit.sealing import sign_chains
from audit.signing import MANIFEST_CONTEXT, TreeHead, head_hash, key_id, sign_document, sign_head

# Run lengths of the example ledger (tests/audit/conftest.py): seal 1 at 10 entries covers T-1 1-4, T-2 1-3
# and T-3 1-3; seal 2 at 22 covers T-1 5-8, T-2 4-7 and T-3 4-7; T-1 9-12 and T-2 8-9 are unsealed.
EXAMPLE_RUNS = {"T-1": 12, "T-2": 9, "T-3": 7}


@dataclass
class Ledger:
    entries: list[dict[str, Any]]  # in gseq order, with prev, hash, gseq, redacted
    tree: MerkleTree
    key: Ed25519PrivateKey  # the current key, which signs the export's manifest
    seals: list[tuple[TreeHead, str]] = field(default_factory=list)
    # Per seal: the {run: [length, head]} it covered and their signature (Seal.chains, chains_signature).
    chains: list[tuple[dict[str, list[Any]], str]] = field(default_factory=list)


def build_ledger(
    run_lengths: dict[str, int],
    *,
    seal_sizes: list[int],
    keys: list[Ed25519PrivateKey],
    system: list[tuple[str, dict[str, Any]]] = (),
) -> Ledger:
    """Runs interleaved round-robin (as concurrent runs are), gseq with gaps (as a rolled-back insert
    leaves), then the entries of the system chain in ``system`` ((kind, payload) each, e.g. the
    ``retention_pruned`` entry that recorded a prune), and a seal at each cumulative tree size in
    ``seal_sizes``, signed by ``keys[seal_no - 1]`` or the last key (so passing two keys rotates)."""
    cursors = dict.fromkeys(run_lengths, (0, GENESIS))
    entries: list[dict[str, Any]] = []
    gseq = 0
    while any(cursors[run][0] < length for run, length in run_lengths.items()):
        for run, length in run_lengths.items():
            seq, prev = cursors[run]
            if seq >= length:
                continue
            seq += 1
            gseq += 2 if gseq % 7 == 3 else 1
            entry = {
                "run": run,
                "seq_run": seq,
                "kind": "run.started"
                if seq == 1
                else ("review.decided" if seq % 4 == 0 else "node.completed"),
                "step": seq - 1,
                "actor": "reviewer@example.com" if seq % 4 == 0 else None,
                "at": f"2025-06-01T12:{gseq // 60:02d}:{gseq % 60:02d}.000000Z",
                "payload": {
                    "output": payload_digest(
                        {"text": f"answer {run} {seq} \u00e9\u0000"}, salt=f"salt-{run}-{seq}"
                    ),
                    "model": "demo-model",
                    "tokens": 17 * seq,
                },
            }
            digest = entry_hash(entry, prev)
            entries.append({**entry, "prev": prev, "hash": digest, "gseq": gseq, "redacted": seq % 4 == 0})
            cursors[run] = (seq, digest)
    prev = GENESIS
    for seq, (kind, payload) in enumerate(system, 1):
        gseq += 1
        entry = {"run": "system", "seq_run": seq, "kind": kind, "step": None, "actor": "admin",
                 "at": f"2026-07-01T00:00:{seq:02d}.000000Z", "payload": payload}
        digest = entry_hash(entry, prev)
        entries.append({**entry, "prev": prev, "hash": digest, "gseq": gseq, "redacted": False})
        prev = digest
    tree = MerkleTree([bytes.fromhex(e["hash"]) for e in entries])
    ledger = Ledger(entries=entries, tree=tree, key=keys[-1])
    prev_head, prev_size = GENESIS, 0
    for seal_no, size in enumerate(seal_sizes, 1):
        key = keys[min(seal_no, len(keys)) - 1]
        head = TreeHead(
            seal_no=seal_no,
            tree_size=size,
            root=tree.root(size).hex(),
            first_gseq=entries[prev_size]["gseq"],
            last_gseq=entries[size - 1]["gseq"],
            sealed_at=f"2025-06-01T13:00:{seal_no:02d}Z",
            prev_head=prev_head,
            key_id=key_id(key.public_key()),
        )
        ledger.seals.append((head, sign_head(head, key)))
        chains = {e["run"]: [e["seq_run"], e["hash"]] for e in entries[prev_size:size]}  # the last one wins
        ledger.chains.append((chains, sign_chains(head_hash(head), chains, key)))
        prev_head, prev_size = head_hash(head), size
    return ledger


def prune_records(ledger: Ledger, run: str) -> list[dict[str, Any]]:
    """The system chain's retention_pruned entries that list `run` (what recorded its prune)."""
    return [e for e in ledger.entries if e["run"] == "system" and e["kind"] == "retention_pruned"
            and run in e["payload"].get("runs", [])]


def pruned_record(ledger: Ledger, run: str, *, version: int = 5) -> dict[str, Any]:
    """What a `pruned` line states for `run` once retention removed its entries (all sealed); from version 5,
    with the gseqs of the system entries that recorded the prune (none: a forged prune)."""
    last = max((e for e in ledger.entries if e["run"] == run), key=lambda e: e["seq_run"])
    sealed_by = next(n for n, (chains, _) in enumerate(ledger.chains, 1) if chains.get(run) == [last["seq_run"],
                                                                                                  last["hash"]])
    return {"length": last["seq_run"], "head": last["hash"], "sealed_by": sealed_by,
            "pruned_at": "2026-07-01T00:00:00.000000Z", "finished_at": "2025-06-01T12:30:00.000000Z",
            "retention": {"workflow": "demo", "days": 395},
            **({"recorded_by": [e["gseq"] for e in prune_records(ledger, run)]} if version >= 5 else {})}


def pinned_by(ledger: Ledger, runs: list[str]) -> dict[str, int]:
    """{run: the newest seal whose signed run heads name it}, for the runs some seal pins."""
    newest = {}
    for seal_no, (chains, _) in enumerate(ledger.chains, 1):
        newest |= dict.fromkeys(set(runs) & chains.keys(), seal_no)
    return newest


def export_lines(ledger: Ledger, *, runs: list[str] | None = None, pruned: tuple[str, ...] = (),
                 version: int = 6, carried: list[int] | None = None) -> list[bytes]:
    """The export's lines (each ending in a newline): header, entries, pruned runs, seals, consistency,
    proofs, manifest. The runs in `pruned` are exported as retention leaves them: a pruned line each, and
    (version 5) the system entries that recorded their prune among the entries. `carried` (version 6): the
    seal numbers the export carries (every seal when None), with a consistency proof from each to the next
    carried. `version=5` writes what Gatehouse wrote before version 6 (every seal, a manifest without
    `seals` and `sealed_upto`); `version=4` what it wrote before version 5 (no system entries, no
    `recorded_by`); `version=3` what it wrote before version 4 (a manifest without `version` and
    `pinned_by`)."""
    stated = {run: pruned_record(ledger, run, version=version) for run in pruned}
    evidence = {gseq for record in stated.values() for gseq in record.get("recorded_by", [])}
    selected = [(i, e) for i, e in enumerate(ledger.entries)
                if e["gseq"] in evidence or (e["run"] != "system" and (runs is None or e["run"] in runs)
                                             and e["run"] not in pruned)]
    numbers = list(range(1, len(ledger.seals) + 1)) if carried is None else sorted(carried)
    seal_heads = [ledger.seals[n - 1][0] for n in numbers]
    proofs = []
    for index, entry in selected:
        covering = next((h for h in seal_heads if index < h.tree_size), None)
        if covering is not None:
            path = ledger.tree.inclusion_proof(index, covering.tree_size)
            proofs.append(
                {
                    "type": "proof",
                    "gseq": entry["gseq"],
                    "seal_no": covering.seal_no,
                    "leaf_index": index,
                    "tree_size": covering.tree_size,
                    "path": [p.hex() for p in path],
                }
            )
    consistency = [
        {
            "type": "consistency",
            "from_seal": old.seal_no,
            "to_seal": new.seal_no,
            "path": [p.hex() for p in ledger.tree.consistency_proof(old.tree_size, new.tree_size)],
        }
        for old, new in zip(seal_heads, seal_heads[1:], strict=False)
    ]
    exported = sorted({e["run"] for _, e in selected if e["run"] != "system"} | set(pruned))
    seal_lines = []
    for n in numbers:
        (head, signature), (chains, chains_signature) = ledger.seals[n - 1], ledger.chains[n - 1]
        line = {"type": "seal", **head.to_dict(), "signature": signature}
        if not set(exported).isdisjoint(chains):  # only the seals that pin an exported run carry chains
            line |= {"chains": chains, "chains_signature": chains_signature}
        seal_lines.append(line)
    heads = {e["run"]: [e["seq_run"], e["hash"]] for _, e in selected if e["run"] != "system"}  # the last wins
    scope = {"runs": exported} if runs else {"all": True}
    header = {
        "type": "header",
        "format": "gatehouse-ledger-export",
        "version": version,
        "generated_at": "2025-06-01T14:00:00Z",
        "scope": scope,
        "counts": {
            "entries": len(selected),
            "pruned": len(stated),
            "seals": len(numbers),
            "consistency": len(consistency),
            "proofs": len(proofs),
        },
    }
    objects = [
        header,
        *({"type": "entry", **entry} for _, entry in selected),
        *({"type": "pruned", "run": run, **record} for run, record in stated.items()),
        *seal_lines,
        *consistency,
        *proofs,
        export_manifest(generated_at=header["generated_at"], scope=scope, heads=heads, pruned=stated,
                        pinned_by=pinned_by(ledger, exported), last_seal=len(ledger.seals),
                        seals=seal_ranges(numbers), sealed_upto=ledger.seals[-1][0].last_gseq if ledger.seals else 0,
                        private_key=ledger.key),
    ]
    if version in (4, 5):
        objects[-1] = signed_manifest({k: v for k, v in objects[-1].items()
                                       if k not in ("type", "signature", "seals", "sealed_upto")}
                                      | {"version": version}, ledger.key)
    if version == 3:
        objects[-1] = as_version_3_manifest(objects[-1], ledger.key)
    return [canonical_json(obj) + b"\n" for obj in objects]


# --- What someone trying to hide entries does to an export ---


def _objects(lines: list[bytes]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines]


def _recount(lines: list[bytes]) -> list[bytes]:
    """The lines with the (unsigned) header's counts edited to match them."""
    objects = _objects(lines)
    kinds = [obj["type"] for obj in objects]
    header = {**objects[0], "counts": {"entries": kinds.count("entry"), "pruned": kinds.count("pruned"),
                                       "seals": kinds.count("seal"), "consistency": kinds.count("consistency"),
                                       "proofs": kinds.count("proof")}}
    return [canonical_json(header) + b"\n", *lines[1:]]


def cut_run(lines: list[bytes], run: str, keep: int) -> list[bytes]:
    """Drop the entries of `run` after entry `keep` and their inclusion proofs, and edit the header's
    counts to match: what hides a run's newest entries from a version 1 export. The manifest stays."""
    objects = _objects(lines)
    cut = {obj["gseq"] for obj in objects if obj["type"] == "entry" and obj["run"] == run and obj["seq_run"] > keep}
    assert cut, f"run {run} has no entries after {keep}"
    kept = [line for line, obj in zip(lines, objects, strict=True)
            if not (obj["type"] in ("entry", "proof") and obj["gseq"] in cut)]
    return _recount(kept)


def signed_manifest(body: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """A manifest line over `body` (its fields but type, key_id and signature), signed with `key`."""
    body = {**body, "key_id": key_id(key.public_key())}
    return {"type": "manifest", **body, "signature": sign_document(MANIFEST_CONTEXT, body, key)}


def as_version_3_manifest(manifest: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """The manifest as version 3 signed it: without the format version and `pinned_by`."""
    return signed_manifest({k: v for k, v in manifest.items()
                            if k not in ("type", "signature", "version", "pinned_by", "seals", "sealed_upto")}, key)


def resign_manifest(lines: list[bytes], key: Ed25519PrivateKey) -> list[bytes]:
    """Replace the manifest with one over the entries the lines hold, signed with `key`: what an attacker
    with another key does, or what Gatehouse itself signs if its database was cut before the export. The
    seals are not in reach of such a cut (signed, and copied outside the database), so what the manifest
    says of them (`last_seal`, `pinned_by`) stays."""
    objects = _objects(lines)
    old = next(obj for obj in objects if obj["type"] == "manifest")
    manifest = signed_manifest({
        **{k: v for k, v in old.items() if k not in ("type", "signature")},
        "runs": {obj["run"]: [obj["seq_run"], obj["hash"]] for obj in objects
                 if obj["type"] == "entry" and obj["run"] != "system"},
        "pruned": {obj["run"]: {k: v for k, v in obj.items() if k not in ("type", "run")}
                   for obj in objects if obj["type"] == "pruned"}}, key)
    return [canonical_json(manifest) + b"\n" if obj["type"] == "manifest" else line
            for line, obj in zip(lines, objects, strict=True)]
