#!/usr/bin/env python3
"""Verify a Gatehouse ledger export offline: hash chains, Merkle inclusion proofs, signed seals, and that
nothing was cut from it (the signed manifest and the run heads signed in the seals).

    python offline_verifier.py EXPORT.jsonl --public-key KEY.pem [--public-key OLD.pem] [--require-sealed]

A key file may hold several PEM public keys (``manage.py audit public-key --all`` prints every key the
ledger has used, the current one and those archived before a rotation, in that form).

Checks, in one pass over the file (format: docs/ledger-export-format.md):
1. every line is one JSON object of a known type, written byte for byte as Gatehouse writes it (canonical
   JSON), the header comes first and its counts match, the manifest comes last;
2. every exported run's hash chain is intact (modified / deleted / inserted / reordered entries are named);
3. seals chain from GENESIS through ``prev_head`` (version 6: where the previous seal is in the export; an
   export carries the seals its runs need), their gseq ranges and tree sizes only grow, and each
   signature, and that of the run heads (chains) a seal carries, verifies with one of the public keys
   given (pass every key the ledger has used);
4. one consistency proof per pair of consecutive seals (version 6: of seals next to each other in the
   export) shows each tree extends the previous one;
5. every exported entry covered by a seal is proven into it by its inclusion proof; newer entries are
   reported as unsealed (a warning, or a failure with ``--require-sealed``);
6. every run reaches the newest length and head a seal signed for it (else it was *truncated*);
7. a run stated as pruned by retention (version 3 on) has no entries in the export, and its stated final
   length and head are the newest a seal signed for it;
8. the manifest is signed by a given key, agrees with the header, and lists exactly the exported runs,
   each at exactly its exported length and head, and exactly the pruned runs as stated;
9. (version 4) the manifest signs the header's version, and the seal it names as the newest to pin each
   run carries that run's signed head (so 6 and 7 hold the run to it), and no other seal line pins a run
   the manifest does not name it for;
10. (version 5) each pruned run was pruned by retention: its line names the system chain's retention_pruned
   entries that recorded the prune (``recorded_by``), and the export holds them, genuine (checked one by
   one, as the system chain is exported only in part), listing the run, and proven into a seal (unsealed:
   a warning, or a failure with ``--require-sealed``); and the seals' signed times allow it: the run did
   not start (after the seal before the first seal naming it) less than its retention period before the
   prune (before the seal proving its record, or now);
11. (version 6) the export carries exactly the seals its signed manifest lists, none newer than the ledger's
   newest when exported, and every exported entry the ledger had sealed then is proven into one.

Exit status: 0 verified, 1 verification failed (problems listed by line, first problem first; whatever
the file holds, never a traceback), 2 the command could not run (unreadable file or key).

Version 1 exports (no manifest, no signed run heads) cannot show they are complete, so they fail unless
``--allow-version-1`` is given. Version 2 exports (no pruned runs stated), version 3 exports (no signed
``pinned_by``) and version 4 exports (no system chain record of their prunes) are checked as before, with a
warning of what they cannot show. Version 5 exports (every seal) are checked as before.

This is deliberately a single file that needs only Python 3.11+ and the ``cryptography`` package, so an
auditor can run it without the Gatehouse code base.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import bisect
import hashlib
import itertools
import json
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from json.encoder import c_make_encoder, encode_basestring
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

# =====================================================================================================
# Verbatim copies of the functions that define the ledger's hash and signature formats, from
# audit/canonical.py, audit/chain.py, audit/merkle.py, audit/signing.py and audit/sealing.py. Copied, not
# imported, because this file must run without the project; tests/audit/test_offline_verifier.py fails
# if any copy drifts from its original.
# =====================================================================================================

# --- from audit/canonical.py ---
_CONTAINERS = (dict, list, tuple)
_EXACT_CONTAINERS = frozenset(_CONTAINERS)
_EXACT_SCALARS = frozenset({str, int, float, bool, type(None)})


def _encode_default(value: Any) -> Any:
    # Decimals travel as strings: a JSON number would be read back as a float and lose digits.
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value!r} has no canonical JSON encoding")
        return str(value)
    raise TypeError(f"{type(value).__name__} has no canonical JSON encoding")


_ENCODER = json.JSONEncoder(
    sort_keys=True,
    separators=(",", ":"),
    ensure_ascii=False,
    allow_nan=False,
    default=_encode_default,
)

# The same encoder, built once: json.JSONEncoder.encode builds a new C encoder on every call (~2 µs, and
# this runs for every ledger entry written or verified). None where json has no C speedups.
_ENCODE = (c_make_encoder(None, _encode_default, encode_basestring, None, ":", ",", True, False, False)
           if c_make_encoder is not None else None)


def _reject_non_string_keys(obj: Any) -> None:
    # json silently turns {2: ..., 10: ...} into string keys, but sorts them as ints first; once the value
    # has been through a database and back the keys are strings and sort differently, so the hash would
    # change. Refusing them here keeps "same value in, same bytes out" true after a round trip.
    # (Written for speed, with exact-type fast paths: it runs once per ledger entry.)
    stack = [obj]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if type(key) is not str and not isinstance(key, str):
                    raise TypeError(f"canonical JSON needs string keys, got {key!r}")
                if type(value) in _EXACT_CONTAINERS or (
                    type(value) not in _EXACT_SCALARS and isinstance(value, _CONTAINERS)
                ):
                    stack.append(value)
        else:
            stack += [item for item in node if isinstance(item, _CONTAINERS)]


def canonical_json(obj: Any, *, from_json: bool = False) -> bytes:
    """Encode ``obj`` deterministically: sorted keys, no whitespace, UTF-8, no NaN/Infinity.

    Ints stay ints, Decimals become strings, strings may hold any code point including NUL (json escapes
    it as \\u0000). Lone surrogates cannot be UTF-8 encoded and raise ``UnicodeEncodeError``.
    Floats are allowed but note that a float which prints in exponent form (1e+16) comes back from
    Postgres jsonb as an int; store such values as Decimal or str.
    ``from_json``: ``obj`` was parsed from JSON, so its keys are strings and are not checked again
    (verification re-encodes every entry it reads).
    """
    return canonical_text(obj, from_json=from_json).encode("utf-8")


def canonical_text(obj: Any, *, from_json: bool = False) -> str:
    """canonical_json before its UTF-8 encoding (what a ledger row stores as its payload)."""
    if not from_json and isinstance(obj, _CONTAINERS):
        _reject_non_string_keys(obj)
    if _ENCODE is None:
        return _ENCODER.encode(obj)
    return "".join(_ENCODE(obj, 0))


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- from audit/chain.py ---
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


# --- from audit/merkle.py ---
EMPTY_ROOT = hashlib.sha256(b"").digest()
_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == 32


def verify_inclusion(leaf: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2. ``leaf`` is the leaf's data (an entry's hash bytes), not its leaf hash."""
    if not isinstance(leaf, bytes) or not _is_hash(root) or not all(_is_hash(p) for p in proof):
        return False
    if not 0 <= index < tree_size:
        return False
    fn, sn = index, tree_size - 1
    r = leaf_hash(leaf)
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(m: int, n: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: the tree of size ``m`` with ``old_root`` is a prefix of size ``n``'s ``new_root``."""
    if not _is_hash(old_root) or not _is_hash(new_root) or not all(_is_hash(p) for p in proof):
        return False
    if not 0 <= m <= n:
        return False
    if m == n:
        return not proof and old_root == new_root
    if m == 0:
        # Everything extends the empty tree; there is nothing to prove.
        return not proof and old_root == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if m & (m - 1) == 0:  # the old tree is a complete subtree, so the proof leaves its root out
        path.insert(0, old_root)
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


# --- from audit/signing.py ---
# Signatures cover this prefix plus the head's canonical JSON, so a ledger signature can never be
# replayed as a signature over some other JSON document that happens to share the key.
SIGNING_CONTEXT = b"gatehouse-tree-head-v1\n"


@dataclass(frozen=True)
class TreeHead:
    seal_no: int  # 1, 2, 3, ...
    tree_size: int  # leaves (entries, in gseq order) covered by root
    root: str  # hex Merkle root of the first tree_size leaves
    first_gseq: int  # the entries this seal added to the tree: first_gseq..last_gseq
    last_gseq: int
    sealed_at: str  # ISO-8601 UTC
    prev_head: str  # head_hash of seal_no - 1, or GENESIS for the first seal
    key_id: str  # key_id of the signing key

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TreeHead:
        """Build from a mapping holding at least the head's fields (extra keys, e.g. signature, ignored)."""
        return cls(**{field.name: data[field.name] for field in fields(cls)})


def head_bytes(head: TreeHead) -> bytes:
    return canonical_json(head.to_dict())


def head_hash(head: TreeHead) -> str:
    return sha256_hex(head_bytes(head))


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def verify_head(head: TreeHead, signature: str, public_key: Ed25519PublicKey) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
        public_key.verify(raw, SIGNING_CONTEXT + head_bytes(head))
    except (InvalidSignature, binascii.Error, ValueError, TypeError):
        return False
    return True


# Each kind of document the ledger key signs besides tree heads has its own context prefix (the seals'
# chains: audit/sealing.py CHAINS_CONTEXT; export manifests: this one), so a signature over one kind can
# never be replayed as a signature over another, nor as a tree head's.
MANIFEST_CONTEXT = b"gatehouse-export-manifest-v1\n"


def verify_document(context: bytes, document: Mapping[str, Any], signature: str, public_key: Any) -> bool:
    try:
        public_key.verify(base64.b64decode(signature, validate=True), context + canonical_json(document))
    except Exception:  # noqa: BLE001 - any failure to verify (no key, bad base64, unencodable document) is "not valid"
        return False
    return True


# --- from audit/sealing.py ---
# The per-chain heads a seal covers are signed with their own context: never confusable with a head.
CHAINS_CONTEXT = b"gatehouse-sealed-chains-v1\n"


def verify_chains_signature(head_digest: str, chains: dict[str, list[Any]], signature: str,
                            public_key: Any) -> bool:
    return verify_document(CHAINS_CONTEXT, {"head": head_digest, "chains": chains}, signature, public_key)


# Sealing a range takes seconds to minutes: a day covers it, and clock drift, many times over.
SEALING_SLACK = timedelta(days=1)


def prune_too_early(run: str, days: int, started_after: tuple[int, str], pruned_by: tuple[int, str] | None,
                    record_gseq: int, now: datetime) -> str:
    """Why run `run` cannot have been pruned by retention under `days`, by seals' signed times alone ("" when
    it can). A prune record and its system entry are rows that someone with write access to the database
    can forge (or a run's finish they can back-date), and the next seal then signs them; the seals' times
    they cannot change. The run's first entry came after `started_after` (the seal before the first seal
    naming the run: a seal covers every entry inserted before its cut), and the prune came before
    `pruned_by` (the seal covering its system entry, gseq `record_gseq`; None: not sealed yet, so `now`).
    Retention prunes a run once it finished more than its period ago, so a run that started less than
    that before its prune was deleted outside retention. Both are (seal_no, sealed_at)."""
    started = datetime.fromisoformat(started_after[1])
    pruned = datetime.fromisoformat(pruned_by[1]) if pruned_by else now
    if started - SEALING_SLACK <= pruned - timedelta(days=days):
        return ""
    when = f"sealed {pruned_by[1][:10]} by seal {pruned_by[0]}" if pruned_by else "not sealed yet"
    return (f"run {run}'s entries were deleted as pruned under a {days}-day retention period (the prune's "
            f"record is gseq {record_gseq} of the system chain, {when}), but the run started after seal "
            f"{started_after[0]} was made on {started_after[1][:10]}, {(pruned - started).days} days before: it "
            "was still inside its retention period, so its entries were deleted outside retention")


# The retention period retention applies without an explicit override: six months.
RETENTION_MINIMUM_DAYS = 183


def prune_record_days(payload: Any, workflow: Any) -> int:
    """The retention period, in days, that a retention_pruned record of the system chain (`payload`, hashed and
    sealed) says it applied to `workflow`'s runs; else the shortest it states; else the minimum without an
    override. Never a row outside the chain: those anyone with database access can change."""
    rules = payload.get("retention_days") if isinstance(payload, dict) else None
    rules = rules if isinstance(rules, dict) else {}
    stated = [days for days in rules.values() if type(days) is int and days > 0]
    own = rules.get(workflow) if isinstance(workflow, str) else None
    if type(own) is int and own > 0:
        return own
    return min(stated) if stated else RETENTION_MINIMUM_DAYS


# =====================================================================================================
# The export format and its checks (not copied: this part exists only here).
# =====================================================================================================

FORMAT = "gatehouse-ledger-export"
# Each pruned run's line names the system chain's retention_pruned entries that recorded its prune
# (`recorded_by`), and the export includes them with their proofs: proof offline that retention pruned it.
RECORDED_VERSION = 5
# An export carries the seals its entries need, not every seal: the manifest signs which (`seals`) and up to
# which gseq the ledger was sealed (`sealed_upto`), and a consistency proof spans the seals left out.
SPARSE_VERSION = 6
VERSION = SPARSE_VERSION  # the newest: what this verifier's Gatehouse writes
# The manifest signs the format version and, per run, the newest seal that pins it (`pinned_by`).
PINNED_VERSION = 4
# The first version to state pruned runs: `pruned` lines, and `pruned` in the manifest.
PRUNED_VERSION = 3
# Exports made before pruned runs were stated: no `pruned` lines, and no `pruned` in the manifest.
PREVIOUS_VERSION = 2
# Exports made before the manifest and the seals' run heads: checked only when asked (--allow-version-1).
OLD_VERSION = 1


def _since(version: Any, first: int) -> bool:
    """Whether an export of `version` has what version `first` introduced. Checks name the version a
    feature came with, not lists of versions, so a newer version keeps every older version's checks."""
    return _is_int(version) and version >= first


LINE_TYPES = ("header", "entry", "pruned", "seal", "consistency", "proof", "manifest")
MANIFEST_FIELDS_V2 = frozenset({"type", "generated_at", "scope", "runs", "last_seal", "key_id", "signature"})
MANIFEST_FIELDS_V3 = MANIFEST_FIELDS_V2 | {"pruned"}
MANIFEST_FIELDS_V4 = MANIFEST_FIELDS_V3 | {"version", "pinned_by"}
MANIFEST_FIELDS = MANIFEST_FIELDS_V4 | {"seals", "sealed_upto"}
PRUNED_LINE_FIELDS = frozenset(
    {"type", "run", "length", "head", "sealed_by", "pruned_at", "finished_at", "retention"}
)
PRUNED_LINE_FIELDS_V5 = PRUNED_LINE_FIELDS | {"recorded_by"}
# The chain of ledger entries outside runs (exports, erasures, prunes). A version 5 export holds only the
# entries of it that recorded its pruned runs' prunes: not a run of the scope, and not whole.
SYSTEM_CHAIN = "system"
ENTRY_LINE_FIELDS = frozenset({*ENTRY_FIELDS, "prev", "hash", "gseq", "redacted", "type"})
SEAL_INT_FIELDS = ("seal_no", "tree_size", "first_gseq", "last_gseq")
SEAL_STR_FIELDS = ("sealed_at", "key_id", "signature")


@dataclass
class Problem:
    line: int | None  # None: about the file as a whole (listed after the line-specific problems)
    message: str


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what a verified export says besides its entries
    summary: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail(self, line: int | None, message: str) -> None:
        self.problems.append(Problem(line, message))

    def lines(self, max_problems: int = 20) -> list[str]:
        if self.ok:
            return [printable(line) for line in (self.summary, *self.notes, *(f"WARNING: {w}" for w in self.warnings))]
        ordered = sorted(self.problems, key=lambda p: (p.line is None, p.line or 0))
        shown = [_describe(p) for p in ordered[:max_problems]]
        out = [f"FAIL: {shown[0]}", *(f"  also: {s}" for s in shown[1:])]
        if len(ordered) > max_problems:
            out.append(f"  ... and {len(ordered) - max_problems} more problems")
        return [printable(line) for line in out + [f"WARNING: {w}" for w in self.warnings]]


def printable(line: str) -> str:
    """Messages quote the file (run ids, actors): a control character there (a newline, a carriage
    return, a terminal escape) could forge or hide a line of this report on the auditor's screen, so
    each is shown as its escape instead. Gatehouse's own commands show names and values with this one too
    (this file must run without the Gatehouse code base, so the copy they share lives here)."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in line)


def plural(count: int, one: str, many: str | None = None) -> str:
    """"1 entry", "1,200 entries". Gatehouse's own commands word counts with this one too."""
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


def _describe(problem: Problem) -> str:
    return problem.message if problem.line is None else f"line {problem.line}: {problem.message}"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_hex_hash(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json keeps the last of two equal keys; a viewer might show the first. Refuse the ambiguity.
    result = dict(pairs)
    if len(result) != len(pairs):
        duplicated = sorted(key for key, count in Counter(k for k, _ in pairs).items() if count > 1)
        raise ValueError(f"duplicate key {duplicated[0]!r}")
    return result


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _other_format(first: bytes) -> str | None:
    """What Gatehouse export this is when it is not JSONL (its other formats), from its first line."""
    if first.startswith(b"%PDF-"):
        return "a PDF report"
    if first.removeprefix(b"\xef\xbb\xbf").startswith(b"gseq,run,"):  # the CSV export's header row
        return "a CSV export"
    return None


def _parse_lines(lines: Iterable[bytes], report: Report) -> list[tuple[int, dict[str, Any]]]:
    records = []
    for number, raw in enumerate(lines, 1):
        text = raw[:-1] if raw.endswith(b"\n") else raw
        if not text.strip():
            report.fail(number, "empty line")
            continue
        try:
            obj = json.loads(
                text.decode("utf-8"), object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constants
            )
        except UnicodeDecodeError:
            report.fail(number, "is not valid UTF-8")
            continue
        except ValueError as exc:
            report.fail(number, f"is not valid JSON ({exc})")
            continue
        except RecursionError:
            report.fail(number, "is nested too deeply to be an export line")
            continue
        if not isinstance(obj, dict) or obj.get("type") not in LINE_TYPES:
            report.fail(number, f"is not one of the line types {', '.join(LINE_TYPES)}")
            continue
        # Everything Gatehouse signs or hashes is canonical JSON. A line that has none (a lone surrogate,
        # which json reads from "\ud800" but UTF-8 cannot hold; a float too large, read as infinity)
        # cannot be what was hashed or signed, and would only break the checks further on.
        try:
            written = canonical_json(obj, from_json=True)  # parsed from JSON: its keys are strings
        except (ValueError, TypeError, RecursionError) as exc:
            report.fail(number, f"holds a value canonical JSON cannot encode ({exc}): it was not written by Gatehouse")
            continue
        # Gatehouse writes every line as canonical JSON and a newline. The same values written otherwise
        # (-0, 1.0 for 1, escapes, other key order, spaces, CRLF) pass every hash and signature here, but
        # another reader of the file may take them differently: only the exact bytes are the export.
        if written != text:
            report.fail(
                number,
                "is not written as Gatehouse writes export lines (canonical JSON: sorted keys, no spaces, no "
                "escapes it does not need, integers as integers): it was edited after export",
            )
        elif not raw.endswith(b"\n"):
            report.fail(number, "does not end with a newline, as every export line does: the file was cut short")
        records.append((number, obj))
    return records


def _check_header(records: list[tuple[int, dict[str, Any]]], report: Report) -> dict[str, Any]:
    headers = [(n, obj) for n, obj in records if obj["type"] == "header"]
    if not headers or headers[0][0] != 1:
        report.fail(1, "the first line must be the export header")
    for number, _ in headers[1:]:
        report.fail(number, "a second header: exports were concatenated or spliced")
    if not headers:
        return {}
    number, header = headers[0]
    # An int, not merely equal to one: true == 1 and 3.0 == 3 in Python, and the version decides which
    # checks run, so only the exact value the exporter writes selects them.
    version = header.get("version")
    if header.get("format") != FORMAT or not _is_int(version) or version not in (
        OLD_VERSION, PREVIOUS_VERSION, PRUNED_VERSION, PINNED_VERSION, RECORDED_VERSION, VERSION
    ):
        report.fail(
            number,
            f"not a {FORMAT} version {OLD_VERSION}, {PREVIOUS_VERSION}, {PRUNED_VERSION}, {PINNED_VERSION}, "
            f"{RECORDED_VERSION} or {VERSION} header: "
            "a newer export needs the verifier of the Gatehouse release that made it",
        )
    counts = header.get("counts")
    if isinstance(counts, dict):
        actual = Counter(obj["type"] for _, obj in records)
        kinds = [("entry", "entries"), ("seal", "seals"), ("consistency", "consistency"), ("proof", "proofs")]
        if _since(version, PRUNED_VERSION):
            kinds.append(("pruned", "pruned"))
        elif actual["pruned"]:
            report.fail(
                None,
                f"the file holds {plural(actual['pruned'], 'pruned line')}, which only exports of version "
                f"{PRUNED_VERSION} or later have, but its header says version {header.get('version')}: lines were added",
            )
        for kind, key in kinds:
            # An int, not merely equal to one (true == 1): the counts are what Gatehouse wrote.
            if not _is_int(counts.get(key)) or counts.get(key) != actual[kind]:
                report.fail(
                    None,
                    f"the header (line {number}) counts {json.dumps(counts.get(key))} {kind} lines, but the file "
                    f"holds {actual[kind]}: lines were added or removed",
                )
    else:
        report.fail(number, "the header has no counts")
    return header


def _fields_problem(obj: dict[str, Any], expected: frozenset[str], what: str) -> str | None:
    missing = sorted(expected - obj.keys())
    if missing:
        return f"{what} lacks {', '.join(missing)}"
    extra = sorted(obj.keys() - expected)
    if extra:
        return f"{what} has unexpected field {', '.join(extra)}"
    return None


def _entry_shape(obj: dict[str, Any]) -> str | None:
    fields_problem = _fields_problem(obj, ENTRY_LINE_FIELDS, "entry line")
    if fields_problem is not None:
        return fields_problem
    if not _is_int(obj["gseq"]) or obj["gseq"] < 1:
        return "entry gseq is not a positive integer"
    if not isinstance(obj["redacted"], bool):
        return "entry redacted is not true or false"
    if not isinstance(obj["run"], str):
        return "entry run is not a string"
    return None


def _pruned_shape(obj: dict[str, Any], version: Any) -> str | None:
    expected = PRUNED_LINE_FIELDS_V5 if _since(version, RECORDED_VERSION) else PRUNED_LINE_FIELDS
    fields_problem = _fields_problem(obj, expected, "pruned line")
    if fields_problem is not None:
        return fields_problem
    retention = obj["retention"]
    bad = [] if isinstance(obj["run"], str) else ["run"]
    bad += [] if _is_int(obj["length"]) and obj["length"] >= 1 else ["length"]
    bad += [] if _is_hex_hash(obj["head"]) else ["head"]
    bad += [] if obj["sealed_by"] is None or _is_int(obj["sealed_by"]) else ["sealed_by"]
    bad += [] if isinstance(obj["pruned_at"], str) else ["pruned_at"]
    bad += [] if obj["finished_at"] is None or isinstance(obj["finished_at"], str) else ["finished_at"]
    if not (
        isinstance(retention, dict)
        and retention.keys() == {"workflow", "days"}
        and (retention["workflow"] is None or isinstance(retention["workflow"], str))
        and (retention["days"] is None or _is_int(retention["days"]))
    ):
        bad.append("retention")
    recorded_by = obj.get("recorded_by", [])
    if not (
        isinstance(recorded_by, list)
        and all(_is_int(gseq) and gseq >= 1 for gseq in recorded_by)
        and len(set(recorded_by)) == len(recorded_by)
    ):
        bad.append("recorded_by")
    return f"pruned line has malformed {', '.join(bad)}" if bad else None


def _name(entry: dict[str, Any]) -> str:
    if entry["run"] == SYSTEM_CHAIN:
        return f"entry {entry['seq_run']} of the system chain"
    return f"entry {entry['seq_run']} of run {entry['run']}"


def _is_length_and_head(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and _is_int(value[0])
        and value[0] >= 0
        and _is_hex_hash(value[1])
    )


def _is_heads(value: Any) -> bool:
    """{run: [length, head]}, the shape of a seal's chains and of a manifest's runs."""
    return isinstance(value, dict) and all(map(_is_length_and_head, value.values()))


@dataclass
class _Seal:
    line: int
    head: TreeHead
    signature: str
    # {run: [length, head]} the seal signed for every run it covered; only on the seals that pin an
    # exported run (the exporter leaves the other runs' names out).
    chains: dict[str, list[Any]] | None = None
    chains_signature: str = ""
    chains_valid: bool = False  # set by _check_seals once the seal and its chains verify


def _parse_seal(number: int, obj: dict[str, Any], report: Report) -> _Seal | None:
    bad = [name for name in SEAL_INT_FIELDS if not _is_int(obj.get(name))]
    bad += [name for name in SEAL_STR_FIELDS if not isinstance(obj.get(name), str)]
    bad += [name for name in ("root", "prev_head") if not _is_hex_hash(obj.get(name))]
    if ("chains" in obj or "chains_signature" in obj) and not (
        _is_heads(obj.get("chains")) and isinstance(obj.get("chains_signature"), str)
    ):
        bad.append("chains")
    extra = sorted(
        obj.keys() - {f.name for f in fields(TreeHead)} - {"type", "signature", "chains", "chains_signature"}
    )
    if bad or extra:
        what = f"missing or malformed {', '.join(bad)}" if bad else f"unexpected field {', '.join(extra)}"
        report.fail(number, f"seal line has {what}")
        return None
    return _Seal(
        number, TreeHead.from_dict(obj), obj["signature"], obj.get("chains"), obj.get("chains_signature", "")
    )


# {run: (length, head, seal_no)}: the newest length and head a validly signed seal recorded for a run.
Pins = dict[str, tuple[int, str, int]]


def _check_seals(
    seals: list[_Seal], keyring: Mapping[str, Ed25519PublicKey], report: Report, *, sparse: bool = False
) -> Pins:
    """1. numbered 1, 2, 3 ... with no gaps (`sparse`, version 6: rising, the seals the export needs); 2. each
    prev_head is the previous head's hash (where the previous seal is in the export); 3. tree sizes and gseq
    ranges only grow; 4. each signature verifies with the key the seal names, and so do the run heads
    (chains) the seal carries. Returns the run heads that verified."""
    pins: Pins = {}
    previous: _Seal | None = None
    for seal in seals:
        head, number = seal.head, seal.line
        expected_no = 1 if previous is None else previous.head.seal_no + 1
        apart = sparse and head.seal_no > expected_no  # seals left out between: the manifest signs which
        if sparse and previous is not None and head.seal_no < expected_no:
            report.fail(number, f"seal {head.seal_no} follows seal {expected_no - 1}: a seal number repeats")
        elif apart:
            pass  # its prev_head is the hash of a seal the export does not carry
        elif head.seal_no != expected_no:
            report.fail(
                number,
                f"seal {head.seal_no} follows seal {expected_no - 1}: "
                + ("seals are missing" if head.seal_no > expected_no else "a seal number repeats"),
            )
        elif head.prev_head != (GENESIS if previous is None else head_hash(previous.head)):
            report.fail(
                number,
                f"seal {head.seal_no} does not chain to "
                + ("GENESIS" if previous is None else f"seal {previous.head.seal_no}")
                + ": its prev_head is not the previous seal's hash",
            )
        prev_size = 0 if previous is None else previous.head.tree_size
        prev_last = 0 if previous is None else previous.head.last_gseq
        # Across left-out seals, the leaves added are at most the gseqs since the previous carried seal.
        first = prev_last + 1 if apart else head.first_gseq
        if not (
            head.first_gseq <= head.last_gseq
            and head.first_gseq > prev_last
            and prev_size < head.tree_size <= prev_size + head.last_gseq - first + 1
        ):
            report.fail(
                number,
                f"seal {head.seal_no}'s range does not follow the previous seal's "
                f"(gseq {head.first_gseq}-{head.last_gseq}, tree size {head.tree_size})",
            )
        public_key = keyring.get(head.key_id)
        if public_key is None:
            report.fail(
                number,
                f"seal {head.seal_no} was signed by key {head.key_id}, "
                "which is not among the public keys given: pass every key the ledger has used (Gatehouse's "
                "`manage.py audit public-key --all` prints them)",
            )
        elif not verify_head(head, seal.signature, public_key):
            report.fail(
                number, f"seal {head.seal_no}'s signature is not valid: the seal was altered after signing"
            )
        elif seal.chains is not None:
            if verify_chains_signature(head_hash(head), seal.chains, seal.chains_signature, public_key):
                seal.chains_valid = True
                for run, (length, digest) in seal.chains.items():
                    if length > pins.get(run, (0, GENESIS, 0))[0]:
                        pins[run] = (length, digest, head.seal_no)
            else:
                report.fail(
                    number,
                    f"seal {head.seal_no}'s run heads (chains) do not match their signature: "
                    "they were altered after sealing",
                )
        previous = seal
    return pins


def _check_consistency(
    records: list[tuple[int, dict[str, Any]]], by_no: dict[int, _Seal], report: Report, *, sparse: bool = False
) -> None:
    """One proof per pair of consecutive seals (`sparse`, version 6: of seals next to each other in the
    export, whatever seals were left out between them), each verified: together they show sealed history
    was only ever appended to. Gatehouse writes every one, so a missing, repeated or other proof is an edit."""
    carried = sorted(by_no)
    follows = dict(zip(carried, carried[1:], strict=False)) if sparse else {n: n + 1 for n in carried}
    seen: dict[tuple[int, int], int] = {}
    for number, obj in records:
        numbers = (obj.get("from_seal"), obj.get("to_seal"))
        # Seal numbers must be ints before they are looked up: a list cannot be a dict key, and true or 1.0
        # would find seal 1.
        old, new = (by_no.get(n) if _is_int(n) else None for n in numbers)
        path = obj.get("path")
        if old is None or new is None or not isinstance(path, list) or not all(map(_is_hex_hash, path)):
            report.fail(number, "consistency line names a seal not in the export or is malformed")
            continue
        pair = (old.head.seal_no, new.head.seal_no)
        if follows.get(pair[0]) != pair[1]:
            report.fail(
                number,
                f"a consistency proof from seal {pair[0]} to seal {pair[1]}: Gatehouse proves only "
                + ("from each seal to the next one in the export" if sparse else "consecutive seals")
                + ", so the line was added",
            )
            continue
        if pair in seen:
            report.fail(
                number,
                f"a second consistency proof from seal {pair[0]} to seal {pair[1]} (first on line {seen[pair]}): "
                "the line was duplicated",
            )
            continue
        seen[pair] = number
        if not verify_consistency(
            old.head.tree_size,
            new.head.tree_size,
            bytes.fromhex(old.head.root),
            bytes.fromhex(new.head.root),
            [bytes.fromhex(p) for p in path],
        ):
            report.fail(
                number,
                f"seal {new.head.seal_no}'s tree does not extend seal {old.head.seal_no}'s: "
                "sealed history was rewritten, or the proof was altered",
            )
    for previous, seal_no in zip(carried, carried[1:], strict=False):
        if follows.get(previous) == seal_no and (previous, seal_no) not in seen:
            report.fail(
                by_no[seal_no].line,
                f"no consistency proof shows seal {seal_no}'s tree extends seal {previous}'s: the line was removed",
            )


class _Seals(list):
    """The export's seals in seal_no order, and the first gseq and leaf index of each, built once: every
    entry's covering seal is found by bisection, not by a scan of all seals (entries x seals)."""

    def __init__(self, seals: Iterable[_Seal]) -> None:
        super().__init__(seals)
        self._lasts = [seal.head.last_gseq for seal in self]
        # A seal's first leaf follows the previous seal's last. When that seal is not in the export (version
        # 6), the first leaf is no lower than the previous carried seal's size, nor than the seal's own size
        # less its gseq range (a leaf per gseq at most).
        self._sizes_before = [
            0 if n == 0 else self[n - 1].head.tree_size if self[n - 1].head.seal_no == seal.head.seal_no - 1
            else max(self[n - 1].head.tree_size, seal.head.tree_size - (seal.head.last_gseq - seal.head.first_gseq + 1))
            for n, seal in enumerate(self)
        ]

    def covering(self, gseq: int) -> tuple[_Seal, int] | None:
        """The first seal whose range holds gseq, and the tree size before it (its first leaf index)."""
        # Ranges rise with seal_no (_check_seals fails an export where they do not); the first seal
        # ending at or after gseq is the only one that can hold it.
        at = bisect.bisect_left(self._lasts, gseq)
        if at < len(self) and self[at].head.first_gseq <= gseq:
            return self[at], self._sizes_before[at]
        return None



def _check_proofs(
    records: list[tuple[int, dict[str, Any]]],
    entries: dict[int, tuple[int, dict[str, Any]]],
    seals: _Seals,
    report: Report,
) -> dict[int, int]:
    """Prove each entry into a seal; returns {gseq: proof line} for the entries accounted for.

    1. A proof is tried against the entry with its gseq. 2. One that fails is tried against every other
    exported entry: a match means that entry's gseq was altered (and names it); no match means the
    entry was altered or removed. 3. Proven leaf indexes must rise with gseq.
    """
    by_no = {seal.head.seal_no: seal for seal in seals}
    proven: dict[int, int] = {}
    leaf_of: dict[int, int] = {}
    failed = []
    for number, obj in records:
        gseq, seal_no, index, size, path = (
            obj.get(k) for k in ("gseq", "seal_no", "leaf_index", "tree_size", "path")
        )
        if (
            not all(map(_is_int, (gseq, seal_no, index, size)))
            or not isinstance(path, list)
            or not all(map(_is_hex_hash, path))
        ):
            report.fail(number, "proof line is malformed")
            continue
        seal = by_no.get(seal_no)
        if seal is None:
            report.fail(number, f"proof for gseq {gseq} names seal {seal_no}, which is not in the export")
            continue
        if size != seal.head.tree_size:
            report.fail(
                number,
                f"proof for gseq {gseq} is for tree size {size}, "
                f"but seal {seal_no} has {seal.head.tree_size}",
            )
            continue
        if gseq in proven:
            report.fail(number, f"a second proof for gseq {gseq} (first on line {proven[gseq]})")
            continue
        covering = seals.covering(gseq)
        if covering is None or covering[0].head.seal_no > seal_no:
            report.fail(number, f"proof for gseq {gseq} uses seal {seal_no}, whose range does not cover it")
            continue
        first_seal, first_index = covering
        if not first_index <= index < first_seal.head.tree_size:
            report.fail(
                number,
                f"proof for gseq {gseq} puts it at leaf {index}, "
                f"outside seal {first_seal.head.seal_no}'s "
                f"leaves {first_index}-{first_seal.head.tree_size - 1}",
            )
            continue
        proof, root = [bytes.fromhex(p) for p in path], bytes.fromhex(seal.head.root)
        claimed = entries.get(gseq)
        if claimed is not None and _proves(claimed[1], index, size, proof, root):
            proven[gseq] = number
            leaf_of[gseq] = index
        else:
            failed.append((number, gseq, seal_no, index, size, proof, root))

    for number, gseq, seal_no, index, size, proof, root in failed:
        match = next(
            (
                (line, e)
                for g, (line, e) in entries.items()
                if g not in proven and _proves(e, index, size, proof, root)
            ),
            None,
        )
        claimed = entries.get(gseq)
        if match is not None:
            line, entry = match
            proven[entry["gseq"]] = number
            report.fail(
                line,
                f"{_name(entry)} has gseq {entry['gseq']}, "
                f"but its inclusion proof (line {number}) shows it "
                f"was recorded as gseq {gseq}: its gseq was altered",
            )
        elif claimed is not None:
            proven.setdefault(gseq, number)
            report.fail(
                claimed[0],
                f"{_name(claimed[1])} (gseq {gseq}) is not in seal {seal_no}'s Merkle tree: "
                "the entry or its "
                f"proof (line {number}) was altered",
            )
        else:
            report.fail(
                number, f"the proof for gseq {gseq} has no entry line: an entry was removed from the export"
            )

    ordered = sorted(leaf_of.items())
    for (g1, i1), (g2, i2) in zip(ordered, ordered[1:], strict=False):
        if i2 <= i1:
            report.fail(
                entries[g2][0],
                f"gseq {g1} and {g2} are proven at leaves {i1} and {i2}: gseq values were swapped",
            )
    return proven


def _proves(entry: dict[str, Any], index: int, size: int, proof: list[bytes], root: bytes) -> bool:
    leaf = entry["hash"]
    return _is_hex_hash(leaf) and verify_inclusion(bytes.fromhex(leaf), index, size, proof, root)


def _check_runs(runs: Mapping[str, list[tuple[int, dict[str, Any]]]], pins: Pins, report: Report) -> set[str]:
    """Each run's chain, walked from GENESIS and held to the newest length and head a seal signed for it
    (entries cut off its end are reported as truncated). Returns the runs found broken."""
    broken = set()
    for run, group in runs.items():
        length, head, seal_no = pins.get(run, (None, None, 0))
        result = verify_chain([entry for _, entry in group], expected_len=length, expected_head=head)
        if result.ok:
            continue
        broken.add(run)
        detail = result.detail
        if result.problem == TRUNCATED and length is not None and result.entry_seq is not None:
            detail += f" ({length - result.entry_seq + 1} missing; seal {seal_no} signed the run's length)"
        # Cut entries have no line of their own: point at the run's last line.
        report.fail(group[result.position if result.position is not None else -1][0], detail)
    return broken


def _check_pins_carried(
    entries: Mapping[int, tuple[int, dict[str, Any]]], skip: Container[int], seals: _Seals, report: Report
) -> None:
    """A seal that covers an exported entry (not one of `skip`: the system entries) signed its run's head, so
    it must carry its chains: without them, entries cut off that run's end would go unnoticed by the seals."""
    reported = set()
    for gseq, (_, entry) in sorted(entries.items()):
        if gseq in skip:
            continue
        covering = seals.covering(gseq)
        if covering is None or (covering[0].head.seal_no, entry["run"]) in reported:
            continue
        seal = covering[0]
        if seal.chains is None or entry["run"] not in seal.chains:
            reported.add((seal.head.seal_no, entry["run"]))
            report.fail(
                seal.line,
                f"seal {seal.head.seal_no} covers {_name(entry)} (gseq {gseq}), but its line carries no "
                f"signed head for run {entry['run']}: the seal's run heads (chains) were removed",
            )


def _manifest_shape(obj: dict[str, Any], version: Any) -> str | None:
    expected = (MANIFEST_FIELDS if _since(version, SPARSE_VERSION)
                else MANIFEST_FIELDS_V4 if _since(version, PINNED_VERSION)
                else MANIFEST_FIELDS_V3 if _since(version, PRUNED_VERSION) else MANIFEST_FIELDS_V2)
    fields_problem = _fields_problem(obj, expected, "manifest line")
    if fields_problem is not None:
        return fields_problem
    bad = [name for name in ("generated_at", "key_id", "signature") if not isinstance(obj[name], str)]
    bad += [] if isinstance(obj["scope"], dict) else ["scope"]
    bad += [] if _is_heads(obj["runs"]) else ["runs"]
    bad += [] if _is_int(obj["last_seal"]) else ["last_seal"]
    if "pruned" in obj and not (
        isinstance(obj["pruned"], dict) and all(isinstance(value, dict) for value in obj["pruned"].values())
    ):
        bad.append("pruned")
    if "version" in obj and not _is_int(obj["version"]):
        bad.append("version")
    if "pinned_by" in obj and not (
        isinstance(obj["pinned_by"], dict)
        and all(_is_int(seal_no) and seal_no >= 1 for seal_no in obj["pinned_by"].values())
    ):
        bad.append("pinned_by")
    if "seals" in obj and not _is_seal_ranges(obj["seals"]):
        bad.append("seals")
    if "sealed_upto" in obj and not (_is_int(obj["sealed_upto"]) and obj["sealed_upto"] >= 0):
        bad.append("sealed_upto")
    return f"manifest line has malformed {', '.join(bad)}" if bad else None


def _is_seal_ranges(value: Any) -> bool:
    """[[first, last], ...]: rising, apart, each of consecutive seal numbers (first <= last), as Gatehouse
    writes which seals an export carries."""
    if not isinstance(value, list):
        return False
    end = -1  # the previous range's last seal: the next range starts two or more above it
    for item in value:
        if not (isinstance(item, list) and len(item) == 2 and all(map(_is_int, item))):
            return False
        first, last = item
        if not (1 <= first <= last and (end < 0 or first > end + 1)):
            return False
        end = last
    return True


def seal_ranges(numbers: Iterable[int]) -> list[list[int]]:
    """Ascending seal numbers as [first, last] ranges of consecutive ones: [1, 2, 3, 7] -> [[1, 3], [7, 7]]."""
    ranges: list[list[int]] = []
    for number in numbers:
        if ranges and number == ranges[-1][1] + 1:
            ranges[-1][1] = number
        else:
            ranges.append([number, number])
    return ranges


def _check_manifest(
    records: list[tuple[int, dict[str, Any]]],
    header: dict[str, Any],
    runs: Mapping[str, list[tuple[int, dict[str, Any]]]],
    seals: list[_Seal],
    keyring: Mapping[str, Ed25519PublicKey],
    broken: set[str],
    pruned: Mapping[str, tuple[int, dict[str, Any]]],
    report: Report,
) -> bool:
    """One manifest, signed by a known key, agreeing with the header, listing exactly the exported runs
    at exactly their exported length and head, and exactly the pruned runs as their lines state them.
    True when it verified and its signature holds."""
    manifests = [(n, obj) for n, obj in records if obj["type"] == "manifest"]
    if not manifests:
        report.fail(
            None,
            "the export has no manifest line: it was removed, or the file was cut short (an interrupted "
            "download?); export it again",
        )
        return False
    for number, _ in manifests[1:]:
        report.fail(number, "a second manifest: exports were concatenated or spliced")
    number, manifest = manifests[0]
    # Written after everything else: lines after it were added, and a file without it was cut short.
    if number != records[-1][0]:
        report.fail(number, "the manifest is not the last line: lines were added after it, or it was moved")
    version = header.get("version")
    signed_version = manifest.get("version", PINNED_VERSION if "pinned_by" in manifest else None)
    if signed_version is not None and (not _is_int(version) or signed_version != version):
        # Manifests have these from version 4 on, and the version is signed: the (unsigned) header was
        # relabelled, which would skip the checks of the versions between (pinned_by, the system chain's
        # record of each prune). Reported as it reads, whatever the manifest holds.
        report.fail(
            number,
            f"the manifest signs format version {json.dumps(signed_version)}, but the header says version "
            f"{json.dumps(version)}: the header's version was changed (which would skip version "
            f"{json.dumps(signed_version)}'s checks)",
        )
        return False
    shape = _manifest_shape(manifest, version)
    if shape is not None:
        report.fail(number, shape)
        return False
    public_key = keyring.get(manifest["key_id"])
    if public_key is None:
        report.fail(
            number,
            f"the manifest was signed by key {manifest['key_id']}, which is not among the public keys given: "
            "pass the ledger's current public key",
        )
        return False
    signed = {key: value for key, value in manifest.items() if key not in ("type", "signature")}
    if not verify_document(MANIFEST_CONTEXT, signed, manifest["signature"], public_key):
        report.fail(number, "the manifest's signature is not valid: the manifest was altered after export")
        return False
    problems = len(report.problems)
    for name in ("generated_at", "scope"):
        if header.get(name) != manifest[name]:
            report.fail(
                1, f"the header's {name} differs from the signed manifest's (line {number}): the header was edited"
            )
    newest = seals[-1].head.seal_no if seals else 0
    if _since(version, SPARSE_VERSION):
        _check_carried(number, manifest, seals, report)
    elif manifest["last_seal"] != newest:
        report.fail(
            number,
            f"the manifest was signed when seal {manifest['last_seal']} was the newest, but the export's newest "
            f"is {'none' if not newest else f'seal {newest}'}: seal lines were removed or added",
        )
    heads = manifest["runs"]
    for run in sorted(heads.keys() - runs.keys()):
        if heads[run][0]:
            report.fail(
                None,
                f"run {run} was truncated: the signed manifest lists {heads[run][0]} entries, but the export "
                "holds none of them",
            )
    for run in sorted(runs.keys() - heads.keys()):
        report.fail(
            runs[run][0][0],
            f"run {run} is not in the signed manifest: its "
            f"{plural(len(runs[run]), 'entry was', 'entries were')} added to the export",
        )
    for run in sorted(runs.keys() & heads.keys() - broken):
        length, head = heads[run]
        ordered = sorted(runs[run], key=lambda line_entry: line_entry[1]["seq_run"])
        last_line, last = ordered[-1]
        ends = last["seq_run"]
        if ends < length:
            report.fail(
                last_line,
                f"run {run} was truncated: it ends at entry {ends}, but the signed manifest lists {length} "
                f"entries, so {_entries_phrase(ends + 1, length, run)} removed ({length - ends} missing)",
            )
        elif ends > length:
            report.fail(
                ordered[length][0],
                f"run {run} has {ends} entries, but the signed manifest lists {length}: "
                f"{_entries_phrase(length + 1, ends, run)} added to the export",
            )
        elif last["hash"] != head:
            report.fail(
                last_line,
                f"entry {ends} of run {run} is not the one the signed manifest lists: the run was rewritten",
            )
    stated = manifest.get("pruned", {})
    for run in sorted(stated.keys() - pruned.keys()):
        report.fail(
            number,
            f"the signed manifest states run {run} was pruned, but the export has no pruned line for it: "
            "the line was removed",
        )
    for run in sorted(pruned.keys() - stated.keys()):
        report.fail(
            pruned[run][0], f"run {run}'s pruned line is not in the signed manifest: it was added to the export"
        )
    for run in sorted(pruned.keys() & stated.keys()):
        line_number, line = pruned[run]
        if {key: value for key, value in line.items() if key not in ("type", "run")} != stated[run]:
            report.fail(
                line_number,
                f"run {run}'s pruned line is not what the signed manifest states: it was altered after export",
            )
    for run in sorted(stated.keys() & heads.keys()):
        report.fail(number, f"the signed manifest lists run {run} both with entries and as pruned")
    if _since(version, PINNED_VERSION):
        _check_pinned_by(number, manifest, seals, report)
    return len(report.problems) == problems


def _check_carried(number: int, manifest: dict[str, Any], seals: list[_Seal], report: Report) -> None:
    """Version 6: the export carries exactly the seals its signed manifest lists (those its entries need; an
    export of every run, every seal), none newer than the ledger's newest when exported, and none ending past
    what was sealed then."""
    carried = seal_ranges(seal.head.seal_no for seal in seals)
    if carried != manifest["seals"]:
        # Compared range by range, never expanded: a range is as long as the signed number in it says.
        have = sorted({seal.head.seal_no for seal in seals})
        missing, added = _first_missing(manifest["seals"], have), _first_outside(manifest["seals"], have)
        what = (f"seal {missing}'s line was removed" if missing is not None
                else f"seal {added}'s line was added" if added is not None else "a seal line repeats")
        report.fail(
            number,
            f"the signed manifest lists the seals {_ranges_phrase(manifest['seals'])}, but the export carries "
            f"{_ranges_phrase(carried)}: {what}",
        )
    every = [[1, manifest["last_seal"]]] if manifest["last_seal"] > 0 else []
    if manifest["scope"].get("filter") == {} and manifest["seals"] != every:
        # Gatehouse's export of every run (no run, no filter) carries every seal: a gap is a seal row that was
        # missing from its database, which would leave out the run heads that seal signed.
        report.fail(
            number,
            f"the signed manifest is of an export of every run, which carries every seal up to seal "
            f"{manifest['last_seal']}, but it lists the seals {_ranges_phrase(manifest['seals'])}: seals were "
            "missing from Gatehouse's database (deleted) when it was exported; ask its operators to run "
            "`manage.py audit verify`",
        )
    if seals and (seals[-1].head.seal_no > manifest["last_seal"] or seals[-1].head.last_gseq > manifest["sealed_upto"]):
        report.fail(
            number,
            f"the manifest was signed when seal {manifest['last_seal']} was the newest (sealed up to gseq "
            f"{manifest['sealed_upto']}), but the export carries seal {seals[-1].head.seal_no} ending at gseq "
            f"{seals[-1].head.last_gseq}: seal lines were added",
        )
    elif seals and len(seals) < manifest["last_seal"] and carried == manifest["seals"]:
        report.notes.append(
            f"This export carries the {plural(len(seals), 'seal')} its entries need, of the "
            f"{plural(manifest['last_seal'], 'seal')} the ledger had when it was exported."
        )


def _first_missing(ranges: list[list[int]], have: list[int]) -> int | None:
    """The first seal number in `ranges` not in `have` (ascending, unique), in time linear in both."""
    for first, last in ranges:
        start = bisect.bisect_left(have, first)
        count = bisect.bisect_right(have, last) - start
        if count < last - first + 1:
            return next((first + k for k, n in enumerate(have[start:start + count]) if n != first + k), first + count)
    return None


def _first_outside(ranges: list[list[int]], have: list[int]) -> int | None:
    """The first of `have` in none of `ranges` (rising and apart)."""
    firsts = [first for first, _ in ranges]
    for n in have:
        at = bisect.bisect_right(firsts, n) - 1
        if at < 0 or n > ranges[at][1]:
            return n
    return None


def _ranges_phrase(ranges: list[list[int]]) -> str:
    if not ranges:
        return "none"
    return ", ".join(str(first) if first == last else f"{first}-{last}" for first, last in ranges)


def _check_pinned_by(number: int, manifest: dict[str, Any], seals: list[_Seal], report: Report) -> None:
    """Version 4: the seal the signed manifest names as the newest to pin each run carries that run's signed
    head, and the seal lines pin no run the manifest does not name them for.

    Gatehouse signs the manifest's run lengths from its database, so entries cut there before the export
    (and the run row rewritten) come out as a shorter run under a valid manifest. The seals signed the
    longer run, but a seal carries its run heads only in its line, which the holder of the export could
    strip from a seal that covers none of the exported entries. Naming the seal in the signed manifest
    makes its heads required; the run is then held to them (in _check_runs and _check_pruned), and a
    shorter run fails as truncated."""
    pinned_by = manifest["pinned_by"]
    listed = manifest["runs"].keys() | manifest["pruned"].keys()
    by_no = {seal.head.seal_no: seal for seal in seals}
    for run, seal_no in sorted(pinned_by.items()):
        seal = by_no.get(seal_no)
        if run not in listed:
            report.fail(
                number,
                f"the signed manifest names seal {seal_no} as pinning run {run}, which it neither lists nor states "
                "as pruned: Gatehouse wrote an inconsistent manifest; report this to its operators with the file",
            )
        elif seal is None:
            report.fail(
                number,
                f"the signed manifest says seal {seal_no} is the newest seal to pin run {run}, but the export has "
                f"no seal {seal_no}: its line was removed",
            )
        elif seal.chains is None:
            report.fail(
                seal.line,
                f"seal {seal_no} carries no signed run heads (chains), but the signed manifest says it is the "
                f"newest seal to pin run {run}: its run heads were removed, which hides how long run {run} was "
                f"when seal {seal_no} signed it. The export was altered after it was made; ask Gatehouse's "
                "operators for a new one",
            )
        elif seal.chains_valid and run not in seal.chains:
            report.fail(
                seal.line,
                f"seal {seal_no}'s signed run heads do not name run {run}, though the signed manifest says seal "
                f"{seal_no} is the newest seal to pin it: Gatehouse wrote an inconsistent export; report this to "
                "its operators with the file",
            )
        # Otherwise the seal's signed head of the run is among the pins, which hold the run's entries (or its
        # pruned line) to it; a seal whose chains do not verify is reported by _check_seals.
    newest: dict[str, _Seal] = {}
    for seal in seals:
        if seal.chains_valid:
            newest |= dict.fromkeys(listed & seal.chains.keys(), seal)
    for run, seal in sorted(newest.items()):
        # A newer seal named than found here is missing its heads or its line: reported above.
        if run not in pinned_by or pinned_by[run] < seal.head.seal_no:
            named = f"seal {pinned_by[run]} as the newest seal to pin" if run in pinned_by else "no seal as pinning"
            report.fail(
                seal.line,
                f"seal {seal.head.seal_no} signed a head for run {run}, but the signed manifest names {named} run "
                f"{run} (Gatehouse names the newest seal that pins each exported run): the seal lines are not the "
                "ones exported with this manifest",
            )


def _check_pruned(
    pruned: Mapping[str, tuple[int, dict[str, Any]]],
    runs: Mapping[str, list[tuple[int, dict[str, Any]]]],
    pins: Pins,
    report: Report,
    recorded: Mapping[str, str] | None = None,
) -> None:
    """A run stated as pruned by retention has no entries in the export, and its stated final length and
    head are the newest a seal signed for it: that seal proves what the pruned run held. (The manifest
    check shows the statement is the one Gatehouse signed; `recorded` says, per run, which system entry
    recorded its prune, version 5.)"""
    for run, (number, line) in sorted(pruned.items()):
        length, head = line["length"], line["head"]
        if run in runs:
            report.fail(
                number,
                f"run {run} is stated as pruned, but the export holds "
                f"{plural(len(runs[run]), 'entry', 'entries')} of it: a pruned run has none left",
            )
            continue
        pinned = pins.get(run)
        if pinned is None:
            report.fail(
                number,
                f"run {run} is stated as pruned at {plural(length, 'entry', 'entries')}, but no seal in the "
                "export signed a head for it, so what was pruned cannot be proven",
            )
        elif (pinned[0], pinned[1]) != (length, head):
            report.fail(
                number,
                f"run {run} is stated as pruned at entry {length} (head {head[:12]}...), but seal {pinned[2]} "
                f"signed entry {pinned[0]} (head {pinned[1][:12]}...) as its newest: the record of what was "
                "pruned was altered",
            )
        elif line["sealed_by"] != pinned[2]:
            report.fail(
                number,
                f"run {run}'s pruned line names seal {line['sealed_by']} as the one that signed its head, "
                f"but that is seal {pinned[2]}",
            )
        else:
            report.notes.append(
                f"run {run} was pruned by retention {_retention_phrase(line)}: its "
                f"{plural(length, 'entry is', 'entries are')} no longer held, and its final head (entry "
                f"{length}) is proven by seal {pinned[2]}"
                + (f"; retention recorded the prune in {recorded[run]}" if recorded and run in recorded else "")
            )


def _check_prune_records(
    pruned: Mapping[str, tuple[int, dict[str, Any]]],
    system: Mapping[int, tuple[int, dict[str, Any]]],
    seals: _Seals,
    proven: Mapping[int, int],
    report: Report,
    *,
    sparse: bool = False,
) -> dict[str, str]:
    """Version 5: each pruned run's `recorded_by` names the retention_pruned entries of the system chain that
    recorded its prune, and the export holds them, genuine (their hash matches their contents) and listing
    the run. Returns {run: which entries recorded it, and the seal that proves them}.

    The seal's signed head shows what a pruned run held, not that retention removed it: entries deleted
    with SQL behind a hand-written prune record pass that check. Retention records every prune in the
    system chain, which is sealed like any other; so a prune with no such entry was not retention's. The
    system chain is exported only in part (the entries that recorded these prunes), so it cannot be walked
    from GENESIS: each entry is checked on its own, by its hash, and proven into a seal by its inclusion
    proof (check 5). Which entries those are is signed in the manifest (the pruned lines' `recorded_by`),
    so none can be dropped or added unnoticed."""
    named: dict[int, str] = {}
    recorded: dict[str, str] = {}
    first_naming = _first_naming(pruned, seals)
    started_after = _started_after(first_naming, seals)
    for run, (number, line) in sorted(pruned.items()):
        first = first_naming.get(run) if sparse and run not in started_after else None
        if first is not None and seals[first].head.seal_no > 1:
            # Version 6 carries only some seals, so Gatehouse carries this one with every pruned run: without
            # it nothing bounds when the run started, and a prune made inside the retention period would pass.
            seal_no = seals[first].head.seal_no
            report.fail(
                number,
                f"run {run} is stated as pruned, but the export does not carry seal {seal_no - 1}, the seal before "
                f"seal {seal_no} (the first to name the run), whose signed time bounds when the run started: "
                "without it the retention period cannot be checked. Gatehouse carries it with every pruned run, so "
                "it was missing from Gatehouse's database (deleted) when the export was made; ask its operators to "
                "run `manage.py audit verify`",
            )
        if not line["recorded_by"]:
            report.fail(
                number,
                f"run {run} is stated as pruned, but no retention_pruned entry of the system chain records pruning "
                "it: its entries were deleted outside retention, behind a forged prune record. Report this to "
                "Gatehouse's operators with the file; `manage.py audit verify` names it too",
            )
            continue
        phrases = []
        for gseq in line["recorded_by"]:
            named.setdefault(gseq, run)
            held = system.get(gseq)
            if held is None:
                report.fail(
                    number,
                    f"run {run}'s pruned line names gseq {gseq} of the system chain as the record of its prune, but "
                    "the export holds no such entry: it was removed",
                )
                continue
            entry = held[1]
            payload = entry["payload"]
            runs = payload.get("runs") if isinstance(payload, dict) else None
            if entry["kind"] != "retention_pruned" or not isinstance(runs, list) or run not in runs:
                report.fail(
                    held[0],
                    f"{_name(entry)} (gseq {gseq}) is a {entry['kind']!s} entry that does not list run {run}, "
                    f"though run {run}'s pruned line names it as the record of its prune: no retention_pruned entry "
                    f"in the export records pruning run {run}",
                )
                continue
            covering = seals.covering(gseq)
            proving = covering[0] if covering and gseq in proven else None
            sealed = f"proven by seal {proving.head.seal_no}" if proving else "not sealed yet"
            if not phrases:
                # The seals' signed times must allow the prune, under the period its (hashed) record states.
                days = prune_record_days(payload, line["retention"]["workflow"])
                before = started_after.get(run)
                early = before and prune_too_early(
                    run, days, (before.seal_no, before.sealed_at),
                    (proving.head.seal_no, proving.head.sealed_at) if proving else None, gseq, datetime.now(UTC))
                if early:
                    report.fail(number, early)
            phrases.append(f"{_name(entry)} (gseq {gseq}), {sealed}")
        if phrases:
            recorded[run] = " and ".join(phrases)
    for gseq, (number, entry) in sorted(system.items()):
        if not _self_consistent(entry):
            report.fail(
                number, f"{_name(entry)} (gseq {gseq}) was modified: its hash no longer matches its contents"
            )
        if gseq not in named:
            report.fail(
                number,
                f"{_name(entry)} (gseq {gseq}) is in the export, but no pruned line names it as the record of its "
                "prune: it was added",
            )
    return recorded


def _first_naming(runs: Iterable[str], seals: _Seals) -> dict[str, int]:
    """{run: the index of the first seal whose signed run heads name it}, in one pass over the seals."""
    wanted, first = set(runs), {}
    for n, seal in enumerate(seals):
        for run in wanted.intersection(seal.chains) if seal.chains_valid else ():
            first.setdefault(run, n)
    return first


def _started_after(first_naming: Mapping[str, int], seals: _Seals) -> dict[str, TreeHead]:
    """{run: the seal before the first seal whose signed run heads name it (`first_naming`, _first_naming's)};
    a run first named by seal 1 (nothing bounds its start), or after a seal missing from the export, has none."""
    return {run: seals[n - 1].head for run, n in first_naming.items()
            if n and seals[n - 1].head.seal_no == seals[n].head.seal_no - 1}


def _runs_phrase(runs: list[str]) -> str:
    if len(runs) == 1:
        return f"run {runs[0]} was"
    return f"runs {', '.join(runs[:-1])} and {runs[-1]} were"


def _retention_phrase(line: dict[str, Any]) -> str:
    retention = line["retention"]
    if retention["days"] is None:
        rule = "the retention period applied was not recorded"
    else:
        workflow = f"workflow {retention['workflow']}" if retention["workflow"] else "its workflow"
        rule = f"{workflow} keeps finished runs {retention['days']} days"
    finished = f"it finished {line['finished_at'][:10]}" if line["finished_at"] else "its end was not recorded"
    return f"on {line['pruned_at'][:10]} ({rule}; {finished})"


def _check_missing_run(run: str, pins: Pins, report: Report) -> None:
    """A run in the scope with no entries and no pruned line: its entries were removed, from the export
    or from Gatehouse's database before it (retention would have left a pruned line)."""
    pinned = pins.get(run)
    if pinned is None:
        report.fail(
            None,
            f"run {run} is in the header's scope, but the export holds none of its entries and does not "
            "state it was pruned: its entries were removed",
        )
    else:
        report.fail(
            None,
            f"run {run} is in the header's scope, but the export holds none of its entries and does not "
            f"state it was pruned, though seal {pinned[2]} signed {plural(pinned[0], 'entry', 'entries')} "
            f"for it: {_entries_phrase(1, pinned[0], run)} removed",
        )


def verify_export(
    lines: Iterable[bytes],
    public_keys: Iterable[Ed25519PublicKey],
    *,
    require_sealed: bool = False,
    allow_version_1: bool = False,
) -> Report:
    report = Report()
    lines = iter(lines)
    first = next(lines, b"")
    if (other := _other_format(first)) is not None:
        # Its every line "is not valid JSON" told nobody what they had given or what to give instead.
        report.fail(1, f"this is {other}, not a JSONL export: only a JSONL export carries the proofs and signatures "
                       "to check. Export the same runs as JSONL (the audit page's Export, Format JSONL; or "
                       "`manage.py audit export --format jsonl`) and check that file")
        return report
    records = _parse_lines(itertools.chain([first], lines), report)
    header = _check_header(records, report)
    keyring = {key_id(key): key for key in public_keys}

    # Entries, grouped into runs.
    entries: dict[int, tuple[int, dict[str, Any]]] = {}
    runs: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    # Version 5: the system chain's entries that recorded the pruned runs' prunes (also in `entries`, for
    # their proofs; not a run of the scope, and not whole: see _check_prune_records).
    system: dict[int, tuple[int, dict[str, Any]]] = {}
    version = header.get("version")
    redacted = 0
    for number, obj in (r for r in records if r[1]["type"] == "entry"):
        shape = _entry_shape(obj)
        if shape is not None:
            report.fail(number, shape)
            continue
        entry = {key: value for key, value in obj.items() if key not in ("type", "redacted")}
        if entry["gseq"] in entries:
            first_line = entries[entry["gseq"]][0]
            report.fail(number, f"gseq {entry['gseq']} appears twice (also line {first_line})")
            continue
        entries[entry["gseq"]] = (number, entry)
        if _since(version, RECORDED_VERSION) and entry["run"] == SYSTEM_CHAIN:
            system[entry["gseq"]] = (number, entry)
            continue
        runs[entry["run"]].append((number, entry))
        redacted += obj["redacted"]

    # Runs retention pruned: stated in place of their entries (version 3).
    pruned: dict[str, tuple[int, dict[str, Any]]] = {}
    for number, obj in (r for r in records if r[1]["type"] == "pruned"):
        shape = _pruned_shape(obj, version)
        if shape is not None:
            report.fail(number, shape)
        elif obj["run"] in pruned:
            report.fail(number, f"a second pruned line for run {obj['run']} (also line {pruned[obj['run']][0]})")
        else:
            pruned[obj["run"]] = (number, obj)

    # Seals, then the scope, the runs' chains (held to the heads the seals signed), pruned runs (held to
    # the same), then proofs into the seals.
    seals = _Seals(sorted(
        (s for n, obj in records if obj["type"] == "seal" if (s := _parse_seal(n, obj, report))),
        key=lambda s: (s.head.seal_no, s.line),
    ))
    sparse = _since(version, SPARSE_VERSION)
    pins = _check_seals(seals, keyring, report, sparse=sparse)

    scope_runs = header.get("scope", {}).get("runs") if isinstance(header.get("scope"), dict) else None
    if isinstance(scope_runs, list):
        in_scope = set(map(str, scope_runs))
        for run in sorted(in_scope - runs.keys() - pruned.keys()):
            _check_missing_run(run, pins, report)
        for run in sorted(runs.keys() - in_scope):
            report.fail(runs[run][0][0], f"run {run} has entries but is not in the header's scope")
        for run in sorted(pruned.keys() - in_scope):
            report.fail(pruned[run][0], f"run {run} is stated as pruned but is not in the header's scope")

    broken = _check_runs(runs, pins, report)
    by_no = {seal.head.seal_no: seal for seal in seals}
    _check_consistency([r for r in records if r[1]["type"] == "consistency"], by_no, report, sparse=sparse)
    proven = _check_proofs([r for r in records if r[1]["type"] == "proof"], entries, seals, report)
    recorded = (_check_prune_records(pruned, system, seals, proven, report, sparse=sparse)
                if _since(version, RECORDED_VERSION) else None)
    _check_pruned(pruned, runs, pins, report, recorded)

    # Completeness: only version 2 exports and later can show it.
    complete = False
    if version == OLD_VERSION:
        # Version 1 had no manifest and no seal run heads. A file holding them is a newer export whose
        # (unsigned) header was relabelled, which would skip the manifest's checks: not one to allow.
        for number, obj in records:
            if obj["type"] == "manifest":
                report.fail(
                    number, "a manifest, which version 1 exports never have: the header's version was changed"
                )
        for seal in seals:
            if seal.chains is not None:
                report.fail(
                    seal.line,
                    f"seal {seal.head.seal_no} carries run heads (chains), which version 1 exports never have: "
                    "the header's version was changed",
                )
        if allow_version_1:
            report.warnings.append(
                "this is a version 1 export: it has no signed manifest, so it cannot show that no entries "
                "were cut off the end of a run; ask Gatehouse's operators for a new export to check that"
            )
        else:
            report.fail(
                1,
                "this is a version 1 export, made before Gatehouse signed its exports: it cannot show that "
                "no entries were cut off the end of a run. Ask for a new export, or pass --allow-version-1 "
                "to check only what it holds",
            )
    elif header:
        # The system entries are not held to a signed length (the export has only some of them), so no
        # seal needs to carry the system chain's head for them.
        _check_pins_carried(entries, system, seals, report)
        complete = _check_manifest(records, header, runs, seals, keyring, broken, pruned, report)
        if _since(version, PREVIOUS_VERSION) and not _since(version, PINNED_VERSION):
            report.warnings.append(
                f"this is a version {version} export: its manifest does not sign which seal pins each "
                "run, so it cannot show that entries deleted from Gatehouse's database before the export were not "
                "cut off a run's end; ask Gatehouse's operators for a new export to check that"
            )
        if _since(version, PRUNED_VERSION) and not _since(version, RECORDED_VERSION) and pruned:
            report.warnings.append(
                f"this is a version {version} export: it does not include the system chain's record of "
                f"each prune, so it cannot show that {_runs_phrase(sorted(pruned))} pruned by retention rather than "
                "deleted behind a forged prune record; ask Gatehouse's operators for a new export to check that"
            )

    # Version 6: what the ledger had sealed when exported, as the manifest signs it (checked above).
    manifest = next((obj for _, obj in records if obj["type"] == "manifest"), {}) if complete and sparse else {}
    sealed_upto = manifest.get("sealed_upto", 0)
    unsealed: list[tuple[int, dict[str, Any]]] = []
    for gseq, (number, entry) in sorted(entries.items()):
        if gseq in proven:
            continue
        covering = seals.covering(gseq)
        if covering is not None:
            report.fail(
                number,
                f"{_name(entry)} (gseq {gseq}) is covered by seal {covering[0].head.seal_no} "
                "but has no "
                "inclusion proof: its proof was removed",
            )
        elif seals and gseq < seals[-1].head.last_gseq:
            report.fail(
                number, f"{_name(entry)} (gseq {gseq}) falls between seals' ranges: no seal covers it"
            )
        elif gseq <= sealed_upto:
            report.fail(
                number,
                f"{_name(entry)} (gseq {gseq}) was sealed when the export was made (the signed manifest says the "
                f"ledger was sealed up to gseq {sealed_upto}), but the export carries neither its seal nor its "
                "proof: they were removed",
            )
        else:
            unsealed.append((number, entry))
    if unsealed:
        where = ", ".join(f"{_name(e)}" for _, e in unsealed[:5]) + (", ..." if len(unsealed) > 5 else "")
        if require_sealed:
            for number, entry in unsealed:
                report.fail(number, f"{_name(entry)} is unsealed (--require-sealed)")
        else:
            report.warnings.append(
                f"{plural(len(unsealed), 'entry', 'entries')} {'is' if len(unsealed) == 1 else 'are'} unsealed "
                f"(newer than the last seal): {where}"
            )

    seal_part = f"{plural(len(seals), 'seal')}, all signatures valid" if seals else "no seals"
    extras = [f"{len(proven)} proven into seals"] + ([f"{redacted} redacted"] if redacted else [])
    extras += ["matches its signed manifest"] if complete else []
    pruned_part = plural(len(pruned), "pruned run")
    if system:
        records = plural(len(system), "system entry records", "system entries record")
        pruned_part += f" ({records} {'its prune' if len(pruned) == 1 else 'their prunes'})"
    report.summary = (
        f"OK: {plural(len(entries) - len(system), 'entry', 'entries')} in {plural(len(runs), 'run')}, "
        f"{pruned_part + ', ' if pruned else ''}{seal_part} "
        f"({', '.join(extras)})"
    )
    return report


# A PEM file may hold several keys (`manage.py audit public-key --all` prints them so), with text between
# them. Also audit.signing's: the project imports it from here, as it does plural and printable.
PUBLIC_PEM_BLOCK = re.compile(rb"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.DOTALL)


def _load_public_keys(path: str) -> list[Ed25519PublicKey]:
    """Every public key in the file: one PEM block, or several (as `manage.py audit public-key --all` prints
    the ledger's current and archived keys), whatever text lies between them."""
    data = Path(path).read_bytes()
    blocks = PUBLIC_PEM_BLOCK.findall(data) or [data]
    keys = []
    for block in blocks:
        try:
            key = serialization.load_pem_public_key(block)
        except ValueError:  # cryptography's own words name neither the file nor what to give instead
            raise ValueError(f"{path} holds no PEM public key: give the file `manage.py audit public-key --all` "
                             "prints (or a ledger key's *.pub.pem)") from None
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError(f"{path} is not an Ed25519 public key")
        keys.append(key)
    return keys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a Gatehouse ledger export (JSONL) offline.")
    parser.add_argument("export", help="the .jsonl export file")
    parser.add_argument(
        "--public-key",
        action="append",
        required=True,
        metavar="KEY.pem",
        help="a ledger public key (PEM; a file may hold several); repeat for keys used before a rotation",
    )
    parser.add_argument(
        "--require-sealed", action="store_true", help="fail if any entry is not yet covered by a seal"
    )
    parser.add_argument(
        "--allow-version-1",
        action="store_true",
        help="check a version 1 export (made before exports were signed), which cannot show it is complete",
    )
    parser.add_argument("--max-problems", type=int, default=20, help="how many problems to list")
    args = parser.parse_args(argv)
    try:
        keys = [key for path in args.public_key for key in _load_public_keys(path)]
        handle = open(args.export, "rb")  # noqa: SIM115 - read line by line while it is checked, closed below
    except (OSError, ValueError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        with handle:  # streamed: a large export is not held twice, as bytes and as parsed lines
            report = verify_export(
                handle, keys, require_sealed=args.require_sealed, allow_version_1=args.allow_version_1
            )
    except OSError as exc:  # the file became unreadable midway: not a verdict on it
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - whatever the file holds, the answer is FAIL, never a traceback
        # Status 2 means the file or a key could not be read; this file was read, and is not verified.
        print(printable(
            f"FAIL: the export could not be checked: {type(exc).__name__}: {exc}. It is not verified; "
            "it was likely altered after export (ask Gatehouse's operators for a new one), or report this "
            "to them with the file"
        ))
        return 1
    print("\n".join(report.lines(args.max_problems)))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
