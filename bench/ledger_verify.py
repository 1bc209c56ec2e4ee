"""How fast the ledger's cryptographic core is, on a million synthetic entries, in one process.

    python bench/ledger_verify.py [--entries 1000000] [--runs 10000]

Prints entries/s for: building the chains (hashing every entry), verifying every run's chain, computing
the Merkle root, and building the full tree plus sample inclusion proofs. Nothing touches a database:
these are the floors the ledger service and the offline verifier sit on.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

# Run as a plain script from anywhere: make the project importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from audit.canonical import payload_digest  # noqa: E402
from audit.chain import GENESIS, entry_hash, verify_chain  # noqa: E402
from audit.merkle import MerkleTree, merkle_root, verify_inclusion  # noqa: E402


def progress(label: str, done: int, total: int, started: float) -> None:
    elapsed = time.perf_counter() - started
    print(f"  {label}: {done:,}/{total:,} ({done / elapsed:,.0f}/s)", flush=True)


def build(total: int, runs: int) -> list[dict]:
    """Entries in gseq order, runs interleaved in bursts as concurrent workers would write them."""
    per_run = total // runs
    heads = [GENESIS] * runs
    entries: list[dict] = []
    digest = payload_digest({"text": "a model's answer"}, salt="per-subject salt")
    started = time.perf_counter()
    burst = 10
    for block in range(0, per_run, burst):
        for run in range(runs):
            prev = heads[run]
            for seq in range(block + 1, min(block + burst, per_run) + 1):
                entry = {
                    "run": f"T-{run:05d}",
                    "seq_run": seq,
                    "kind": "node.completed",
                    "step": seq - 1,
                    "actor": None,
                    "at": "2025-06-01T12:00:00.000000Z",
                    "payload": {"input": digest, "output": digest, "model": "demo-model", "tokens": seq},
                }
                entry_digest = entry_hash(entry, prev)
                entry.update(prev=prev, hash=entry_digest, gseq=len(entries) + 1)
                entries.append(entry)
                prev = entry_digest
            heads[run] = prev
        if (block // burst) % max(1, per_run // burst // 10) == 0:
            progress("hashed", len(entries), per_run * runs, started)
    return entries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=10_000)
    args = parser.parse_args()

    print(f"ledger_verify: {args.entries:,} entries across {args.runs:,} runs, single process")
    started = time.perf_counter()
    entries = build(args.entries, args.runs)
    build_s = time.perf_counter() - started
    n = len(entries)

    by_run: dict[str, list[dict]] = {}
    for entry in entries:
        by_run.setdefault(entry["run"], []).append(entry)
    started = time.perf_counter()
    for done, chain in enumerate(by_run.values(), 1):
        result = verify_chain(chain, expected_len=len(chain), expected_head=chain[-1]["hash"])
        if not result.ok:
            sys.exit(f"unexpected failure: {result.detail}")
        if done % max(1, len(by_run) // 5) == 0:
            progress("verified", done * len(chain), n, started)
    verify_s = time.perf_counter() - started

    leaves = [bytes.fromhex(entry["hash"]) for entry in entries]
    started = time.perf_counter()
    root = merkle_root(leaves)
    root_s = time.perf_counter() - started
    print(f"  merkle root {root.hex()[:16]}... over {n:,} leaves", flush=True)

    started = time.perf_counter()
    tree = MerkleTree(leaves)
    tree_s = time.perf_counter() - started
    samples = range(0, n, max(1, n // 10_000))
    started = time.perf_counter()
    for index in samples:
        assert verify_inclusion(leaves[index], index, n, tree.inclusion_proof(index), root)
    proofs_s = time.perf_counter() - started

    print(f"chain hashing (build):      {n / build_s:>12,.0f} entries/s  ({build_s:.2f} s)")
    print(f"chain verification:         {n / verify_s:>12,.0f} entries/s  ({verify_s:.2f} s)")
    print(f"merkle root:                {n / root_s:>12,.0f} entries/s  ({root_s:.2f} s)")
    print(f"merkle tree (all levels):   {n / tree_s:>12,.0f} entries/s  ({tree_s:.2f} s)")
    print(
        f"inclusion proof + verify:   {len(samples) / proofs_s:>12,.0f} proofs/s   "
        f"({len(samples):,} proofs, {proofs_s:.2f} s)"
    )


if __name__ == "__main__":
    main()
