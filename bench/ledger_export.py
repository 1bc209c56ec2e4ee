"""What a JSONL export and a proof download cost before the first byte, over a ledger sealed the way the
sealer seals it (many seals), against the whole-tree reference the exporter used until session 9.

    python bench/ledger_export.py [--entries 1000000] [--runs 10000] [--seal-size 20000]

Bulk-generates valid chains into its own database (`gatehouse_bench_export`, reused when it already
holds them) and seals them `--seal-size` entries at a time. Then, side by side in this process:

- reference: the tree over every sealed leaf at once (MerkleTree + a gseq index), checked against the
  newest seal, the consistency proof between each pair of seals, and one entry's inclusion proof;
- now: `sealed_history_load()` (each seal rebuilt from the previous seal's frontier and its own leaves,
  checked against its signed root, and its consistency proof) and `seal_tree_load()` + one proof (what
  the proof download does).

Prints wall time and peak Python memory (tracemalloc) for each, and the ratios; then streams a full
JSONL export (every run) and prints when its first byte came and its throughput.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from bench.executor_vs_langgraph import _setup_django  # noqa: E402


def measured(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(seconds, peak MiB of Python allocations, result): timed on its own, then run again under
    tracemalloc for the memory (tracing slows every allocation, so it would distort the time)."""
    gc.collect()
    started = time.perf_counter()
    result = fn()
    took = time.perf_counter() - started
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return took, peak / 2**20, result


def streamed(scope: Any) -> tuple[list[str], float, int, float]:
    """A JSONL export of `scope` read to the end: (its runs, seconds to the first byte, bytes, seconds)."""
    from audit.exports import export_stream

    started = time.perf_counter()
    runs, stream = export_stream(scope=scope, fmt="jsonl", actor="bench")
    first, size = 0.0, 0
    for chunk in stream:
        first = first or time.perf_counter() - started
        size += len(chunk)
    return runs, first, size, time.perf_counter() - started


def prepare(entries: int, runs: int, seal_size: int, regenerate: bool) -> None:
    from audit.models import LedgerEntry, Seal
    from audit.sealing import ledger_seal
    from bench.ledger_db import generate

    if regenerate or LedgerEntry.objects.count() < entries or Seal.objects.count() < 2:
        generate(entries, runs)
        sealed, started = 0, time.perf_counter()
        while (seal := ledger_seal(max_entries=seal_size)) is not None:
            sealed = seal.tree_size
            if sys.stderr.isatty():  # a progress line on a terminal; a log gets the total only
                print(f"\rsealing: {sealed:,} of {entries:,} entries, {seal.seal_no} seals", end="", file=sys.stderr)
        print(f"sealed {sealed:,} entries in {Seal.objects.count()} seals in {time.perf_counter() - started:.0f} s")


def _whole_tree(last_gseq: int) -> tuple[list[int], Any]:
    """Every sealed leaf up to `last_gseq` in one tree (what the exporter built before), and their gseqs."""
    from audit.merkle import MerkleTree
    from audit.verify import sealed_leaves

    gseqs, leaves = [], []
    for gseq, digest, _chain, _seq in sealed_leaves(0, last_gseq):
        gseqs.append(gseq)
        leaves.append(bytes.fromhex(digest))
    return gseqs, MerkleTree(leaves)


def reference_whole_tree() -> tuple[int, list[list[bytes]]]:
    """The pre-export check as the exporter did it before: every sealed leaf in one tree, checked against the
    newest root, and the consistency proof between each pair of seals from it."""
    from audit.models import Seal

    seals = list(Seal.objects.order_by("seal_no"))
    gseqs, tree = _whole_tree(seals[-1].last_gseq)
    assert tree.root().hex() == seals[-1].root
    consistency = [tree.consistency_proof(old.tree_size, new.tree_size) for old, new in zip(seals, seals[1:],
                                                                                         strict=False)]
    return len(gseqs), consistency


def reference_proof(gseq: int) -> list[bytes]:
    from audit.models import Seal

    seal = Seal.objects.get(first_gseq__lte=gseq, last_gseq__gte=gseq)
    gseqs, tree = _whole_tree(seal.last_gseq)
    assert tree.root().hex() == seal.root
    return tree.inclusion_proof(gseqs.index(gseq), seal.tree_size)


def proof_now(gseq: int) -> list[bytes]:
    from audit.export_seals import seal_tree_load
    from audit.models import Seal

    tree, index = seal_tree_load(Seal.objects.get(first_gseq__lte=gseq, last_gseq__gte=gseq))
    return tree.inclusion_proof(index[gseq])


SHORT_RUN = 8


def _short_run_sealed(seal_size: int) -> str:
    """A new run of SHORT_RUN valid entries appended after everything (the backlog sealed first, as the
    sealer leaves none), sealed in a seal of its own; its thread id."""
    from django.db import transaction

    from audit.chain import GENESIS, entry_hash
    from audit.models import LedgerEntry, Seal
    from audit.sealing import ledger_seal
    from orchestrator.models import Run

    while ledger_seal(max_entries=seal_size) is not None:
        pass
    thread = f"L-short-{Seal.objects.count() + 1}"
    with transaction.atomic():
        run = Run.objects.create(thread_id=thread, workflow="bench_ledger", graph_version="bench",
                                 status="completed")
        prev = GENESIS
        for seq in range(1, SHORT_RUN + 1):
            entry = {"run": thread, "seq_run": seq, "kind": "node_completed", "step": seq, "actor": None,
                     "at": "2025-06-01T12:00:00.000000Z", "payload": {"node": "step"}}
            digest = entry_hash(entry, prev)
            LedgerEntry.objects.create(chain=thread, run_id=run.pk, seq_run=seq, kind="node_completed", step=seq,
                                       at=entry["at"], payload='{"node":"step"}', prev=prev, hash=digest)
            prev = digest
        Run.objects.filter(pk=run.pk).update(ledger_len=SHORT_RUN, ledger_head=prev)
    assert ledger_seal() is not None
    return thread


def _every_seal_bytes() -> int:
    """The bytes of every seal line and consistency line: what a version 5 export carried whatever its scope."""
    from audit.canonical import canonical_json
    from audit.exports import _seal_line
    from audit.models import Seal

    total = 0
    for seal in Seal.objects.order_by("seal_no").iterator(chunk_size=2000):
        total += len(canonical_json(_seal_line(seal, set()))) + 1  # the line as exported, without run heads
        if seal.consistency:
            total += len(canonical_json({"type": "consistency", "from_seal": seal.seal_no - 1, "to_seal": seal.seal_no,
                                         "path": seal.consistency})) + 1
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--seal-size", type=int, default=20_000, help="entries per seal when sealing the bench data")
    parser.add_argument("--database", default="gatehouse_bench_export",
                        help="bench database (one per --seal-size: the data is generated and sealed once)")
    parser.add_argument("--regenerate", action="store_true",
                        help="generate and seal the data again (e.g. after a change to what sealing stores)")
    parser.add_argument("--one-run", action="store_true",
                        help="also time and size a one-run JSONL export (what it carries grows with the seal count)")
    args = parser.parse_args()
    os.environ.setdefault("GATEHOUSE_SEAL_DIR", str(Path(tempfile.gettempdir()) / "gatehouse-bench-export-seals"))
    _setup_django(args.database)
    from audit.export_seals import sealed_history_load
    from audit.exports import ExportScope
    from audit.models import LedgerEntry, Seal

    prepare(args.entries, args.runs, args.seal_size, args.regenerate)
    seals = Seal.objects.count()
    total = Seal.objects.order_by("-seal_no").values_list("tree_size", flat=True).first()
    print(f"ledger_export: {total:,} sealed entries in {seals} seals (database {args.database})")

    ref_s, ref_mb, (_, ref_consistency) = measured(reference_whole_tree)
    now_s, now_mb, history = measured(sealed_history_load)
    assert history.consistency == ref_consistency, "the per-seal consistency proofs differ from the whole tree's"
    print(f"before an export (check every seal, consistency proofs): whole tree {ref_s:.2f} s, {ref_mb:,.0f} MiB; "
          f"seal by seal {now_s:.2f} s, {now_mb:,.0f} MiB -> time x{now_s / ref_s:.2f}, memory x{now_mb / ref_mb:.3f}")

    middle = LedgerEntry.objects.order_by("gseq").values_list("gseq", flat=True)[total // 2]
    ref_s, ref_mb, ref_path = measured(lambda: reference_proof(middle))
    now_s, now_mb, path = measured(lambda: proof_now(middle))
    assert path == ref_path, "the proof from the entry's seal differs from the whole tree's"
    print(f"one proof download (entry gseq {middle:,}): whole tree up to its seal {ref_s:.2f} s, {ref_mb:,.0f} MiB; "
          f"its own seal {now_s * 1000:.0f} ms, {now_mb:,.1f} MiB -> {ref_s / now_s:,.0f}x faster")

    if args.one_run:
        # A short run after all the rest, sealed on its own (as most runs are: a few minutes among months of
        # seals); the bench's own runs are interleaved over every seal, so each of their exports carries them all.
        thread = _short_run_sealed(args.seal_size)
        runs, first, size, took = streamed(ExportScope(run=thread))
        every = _every_seal_bytes()
        print(f"one-run JSONL export (a run of {SHORT_RUN} entries, sealed last): {size / 1024:,.1f} KiB, first byte "
              f"after {first:.2f} s, in {took:.2f} s; version 5 carried every seal and consistency proof, "
              f"+{every / 2**20:,.1f} MiB -> x{(size + every) / size:,.0f} the size")

    # The whole export, as `audit export` streams it (no reference: the exporter before session 9 first
    # spent ~290 s here selecting the runs, a planner trap fixed in ExportScope.runs).
    runs, first, size, took = streamed(ExportScope())
    print(f"full JSONL export ({len(runs):,} runs): first byte after {first:.1f} s, {size / 2**20:,.0f} MiB in "
          f"{took:.0f} s ({size / 2**20 / took:.1f} MiB/s, {total / took:,.0f} entries/s)")


if __name__ == "__main__":
    main()
