"""Per-run hash chains: how an entry's hash is computed, and how a damaged chain is diagnosed.

Each run's entries form a chain: entry N stores ``prev`` = hash of entry N-1 (``GENESIS`` for entry 1) and
``hash`` = sha256(canonical_json({...entry fields, "prev": prev})). Editing, removing, inserting or
reordering entries breaks that structure in recognisable ways, and ``verify_chain`` names which one
happened, and where, in a sentence an auditor can read.

Pure Python on purpose: the offline verifier carries a copy of this module's logic.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from audit.canonical import canonical_json, sha256_hex

GENESIS = "0" * 64

# The fields the engine writes for every entry. They, plus ``prev``, are what the hash covers.
ENTRY_FIELDS = ("run", "seq_run", "kind", "step", "actor", "at", "payload")

# Stored next to an entry but outside its hash: ``prev`` is added explicitly, ``hash`` is the result, and
# ``gseq`` (the global position) is bound by the Merkle tree instead, so a row can be hashed before the
# ledger numbers it.
_NOT_HASHED = frozenset({"prev", "hash", "gseq"})

MODIFIED = "modified"
DELETED = "deleted"
INSERTED = "inserted"
REORDERED = "reordered"
TRUNCATED = "truncated"

# How far from its stored seq_run we look for the number an entry was hashed with (see _recover_seq).
_RENUMBER_WINDOW = 16


def entry_hash(entry: dict[str, Any], prev_hash: str, *, from_json: bool = False) -> str:
    """sha256 hex of ``{**entry, "prev": prev_hash}`` in canonical JSON (bookkeeping keys excluded).
    ``from_json``: the entry was read back (parsed from JSON), as canonical_json's."""
    body = {key: value for key, value in entry.items() if key not in _NOT_HASHED}
    body["prev"] = prev_hash
    return sha256_hex(canonical_json(body, from_json=from_json))


@dataclass(frozen=True)
class ChainResult:
    ok: bool
    problem: str | None  # one of MODIFIED, DELETED, INSERTED, REORDERED, TRUNCATED
    entry_seq: int | None  # the seq_run the problem is about (where the entry belongs, not where it sits)
    detail: str
    position: int | None = None  # index into the list given to verify_chain, to find the row or line


def _fail(problem: str, seq: int | None, position: int | None, detail: str) -> ChainResult:
    return ChainResult(False, problem, seq, detail, position)


def _shape_problem(entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return "it is not an object"
    if not isinstance(entry.get("run"), str):
        return "its run is missing or not a string"
    seq = entry.get("seq_run")
    if not isinstance(seq, int) or isinstance(seq, bool):
        return "its seq_run is missing or not an integer"
    for key in ("prev", "hash"):
        if not isinstance(entry.get(key), str):
            return f"its {key} is missing or not a string"
    gseq = entry.get("gseq")
    if gseq is not None and (not isinstance(gseq, int) or isinstance(gseq, bool)):
        return "its gseq is not an integer"
    return None


def _self_consistent(entry: dict[str, Any]) -> bool:
    try:
        # Verified entries are read back from the database or an export: their keys are strings.
        return entry_hash(entry, entry["prev"], from_json=True) == entry["hash"]
    except (TypeError, ValueError):  # a value canonical JSON refuses cannot be what was hashed
        return False


def _recover_seq(entry: dict[str, Any], hinted: int | None) -> int | None:
    """The seq_run this entry's stored hash was computed with, if only its seq_run was changed.

    Renumbering is what hides a deletion or an insertion from a "no gaps, no duplicates" check, and a
    swap of two seq_run values is what a reorder looks like; all leave the rest of the entry intact, so
    trying nearby numbers (and the one its prev link implies) recovers the original position.
    """
    stored = entry["seq_run"]
    candidates = [] if hinted is None else [hinted]
    for distance in range(1, _RENUMBER_WINDOW + 1):
        candidates += [stored + distance, stored - distance]
    for seq in candidates:
        if seq >= 1 and seq != stored and _self_consistent({**entry, "seq_run": seq}):
            return seq
    return None


def _entries_phrase(first: int, last: int, run: str) -> str:
    if first == last:
        return f"entry {first} of run {run} was"
    return f"entries {first}-{last} of run {run} were"


def verify_chain(
    entries: list[dict[str, Any]],
    *,
    expected_len: int | None = None,
    expected_head: str | None = None,
) -> ChainResult:
    """Check one run's chain and name the first problem: modified, deleted, inserted, reordered, truncated.

    1. Every entry is checked against its own hash. One that fails only because its seq_run was changed
       gets its original number back (renumbering after a deletion/insertion, or a swap).
    2. Entries are walked in original-number order from GENESIS: a repeated number is an insertion, a
       missing one a deletion, a hash mismatch a modification, a broken prev link a modification that
       was re-hashed, an entry stored under another's number or recorded (gseq) before its predecessor
       a reorder.
    3. ``expected_len`` / ``expected_head`` (from a seal) catch entries removed from the end, which
       leave no trace in the chain itself, and chains rewritten wholesale.
    """
    for position, entry in enumerate(entries):
        shape = _shape_problem(entry)
        if shape is not None:
            seq = entry.get("seq_run") if isinstance(entry, dict) else None
            seq = seq if isinstance(seq, int) and not isinstance(seq, bool) else None
            return _fail(MODIFIED, seq, position, f"entry at position {position + 1} is malformed: {shape}")
    if not entries:
        if expected_len or (expected_head is not None and expected_head != GENESIS):
            return _fail(TRUNCATED, 1, None, "the run has no entries, but its seal recorded some")
        return ChainResult(True, None, None, "no entries")

    run = Counter(entry["run"] for entry in entries).most_common(1)[0][0]
    for position, entry in enumerate(entries):
        if entry["run"] != run:
            if _self_consistent(entry):
                return _fail(
                    INSERTED,
                    entry["seq_run"],
                    position,
                    f"entry {entry['seq_run']} of run {entry['run']} was inserted into run {run}'s chain",
                )
            return _fail(
                MODIFIED,
                entry["seq_run"],
                position,
                f"entry {entry['seq_run']} of run {run} was modified: its run was changed and its "
                "hash no longer matches its contents",
            )

    # 1. Original numbers: the stored one for intact entries, a recovered one for renumbered entries.
    valid = [_self_consistent(entry) for entry in entries]
    true_seq: list[int | None] = [e["seq_run"] if ok else None for e, ok in zip(entries, valid, strict=True)]
    index_by_hash = {entry["hash"]: i for i, entry in enumerate(entries)}
    for i in sorted(range(len(entries)), key=lambda i: entries[i]["seq_run"]):
        if valid[i]:
            continue
        entry = entries[i]
        pred = index_by_hash.get(entry["prev"])
        hinted = 1 if entry["prev"] == GENESIS else None
        if pred is not None and pred != i and true_seq[pred] is not None:
            hinted = true_seq[pred] + 1
        true_seq[i] = _recover_seq(entry, hinted)

    def key(i: int) -> int:
        found = true_seq[i]
        return entries[i]["seq_run"] if found is None else found

    order = sorted(range(len(entries)), key=lambda i: (key(i), entries[i].get("gseq") or 0, i))
    stored_at = {entries[i]["seq_run"]: i for i in range(len(entries))}

    # 2. Walk the chain.
    chain_hashes: list[str] = []  # chain_hashes[n - 1] is the accepted hash of entry n
    prev_hash, prev_seq, prev_i = GENESIS, 0, None
    for pos, i in enumerate(order):
        entry, seq = entries[i], key(i)
        following = order[pos + 1] if pos + 1 < len(order) else None
        if seq < 1:
            kind = INSERTED if valid[i] else MODIFIED
            return _fail(kind, seq, i, f"entry numbered {seq} of run {run} was {kind}: numbering starts at 1")
        if seq == prev_seq or (following is not None and key(following) == seq):
            if seq == prev_seq:
                pred_hash = chain_hashes[-2] if len(chain_hashes) > 1 else GENESIS
            else:
                pred_hash = prev_hash
            return _duplicate(entries, order, seq, run, true_seq, pred_hash, key)
        # Content before gaps: an entry that matches no hash at all is the more direct evidence.
        if true_seq[i] is None:
            return _fail(
                MODIFIED,
                seq,
                i,
                f"entry {seq} of run {run} was modified: its hash no longer matches its contents",
            )
        if seq > prev_seq + 1:
            start = "the chain starts at" if prev_seq == 0 else f"the chain goes from entry {prev_seq} to"
            return _fail(
                DELETED,
                prev_seq + 1,
                i,
                f"{_entries_phrase(prev_seq + 1, seq - 1, run)} deleted: {start} entry {seq}",
            )
        if entry["prev"] != prev_hash:
            # Both entries match their own hashes, so one was edited and re-hashed. If the next entry
            # still links to this one, this one is intact and the predecessor was the one rewritten.
            rewritten_here = prev_i is None or (
                following is not None
                and key(following) == seq + 1
                and entries[following]["prev"] != entry["hash"]
            )
            if rewritten_here:
                return _fail(
                    MODIFIED,
                    seq,
                    i,
                    f"entry {seq} of run {run} was modified and re-hashed: it no longer links to "
                    f"{'the start of the chain' if prev_i is None else f'entry {prev_seq}'}",
                )
            return _fail(
                MODIFIED,
                prev_seq,
                prev_i,
                f"entry {prev_seq} of run {run} was modified and re-hashed: entry {seq} still "
                "links to its original hash",
            )
        if entry["seq_run"] != seq:
            occupant = stored_at.get(seq)
            if occupant is not None and occupant != i:
                return _fail(
                    REORDERED,
                    seq,
                    i,
                    f"entry {seq} of run {run} is out of order: it is stored as entry "
                    f"{entry['seq_run']}, and position {seq} holds entry {key(occupant)}",
                )
            return _fail(
                MODIFIED,
                seq,
                i,
                f"entry {seq} of run {run} was modified: its seq_run was changed to {entry['seq_run']}",
            )
        if (
            prev_i is not None
            and entry.get("gseq") is not None
            and entries[prev_i].get("gseq") is not None
            and entry["gseq"] <= entries[prev_i]["gseq"]
        ):
            return _fail(
                REORDERED,
                prev_seq,
                prev_i,
                f"entries {prev_seq} and {seq} of run {run} are out of order: entry {seq} was "
                f"recorded (gseq {entry['gseq']}) before entry {prev_seq} "
                f"(gseq {entries[prev_i]['gseq']})",
            )
        chain_hashes.append(entry["hash"])
        prev_hash, prev_seq, prev_i = entry["hash"], seq, i

    # 3. What the seal says the chain looked like.
    if expected_len is not None:
        if prev_seq < expected_len:
            return _fail(
                TRUNCATED,
                prev_seq + 1,
                None,
                f"run {run} was truncated: it ends at entry {prev_seq}, but its seal recorded "
                f"{expected_len} entries, so {_entries_phrase(prev_seq + 1, expected_len, run)} removed",
            )
        if expected_head is not None and chain_hashes[expected_len - 1] != expected_head:
            return _fail(
                MODIFIED,
                expected_len,
                order[expected_len - 1],
                f"entry {expected_len} of run {run} does not match the head recorded in its seal: "
                "the chain up to it was rewritten",
            )
    elif expected_head is not None and expected_head not in chain_hashes:
        return _fail(
            TRUNCATED,
            prev_seq + 1,
            None,
            f"run {run} was truncated: it ends at entry {prev_seq} without reaching the head recorded "
            f"in its seal ({expected_head[:12]}...), so its newest entries were removed or rewritten",
        )
    return ChainResult(True, None, None, f"run {run}: {prev_seq} entries, chain intact")


def _duplicate(
    entries: list[dict[str, Any]],
    order: list[int],
    seq: int,
    run: str,
    true_seq: list[int | None],
    pred_hash: str,
    key: Callable[[int], int],
) -> ChainResult:
    """Two entries claim number ``seq``: the genuine one links into the chain, the other was inserted."""
    rivals = [i for i in order if key(i) == seq]
    successors = [i for i in order if key(i) == seq + 1]

    def genuineness(i: int) -> tuple[bool, bool, bool]:
        linked_from_next = any(entries[s]["prev"] == entries[i]["hash"] for s in successors)
        return (true_seq[i] is not None, linked_from_next, entries[i]["prev"] == pred_hash)

    # The least genuine is the extra one; among equals, the one recorded last (gseq, then list position).
    least = min(genuineness(i) for i in rivals)
    extra = max(
        (i for i in rivals if genuineness(i) == least), key=lambda i: (entries[i].get("gseq") or 0, i)
    )
    return _fail(
        INSERTED,
        seq,
        extra,
        f"an entry was inserted into run {run}: there are {len(rivals)} entries numbered {seq}, and "
        f"the one with hash {entries[extra]['hash'][:12]}... does not belong to the chain",
    )
