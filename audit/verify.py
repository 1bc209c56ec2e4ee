"""`audit verify`: recompute every chain, Merkle root and signature, and name the first bad entry.

What is checked, inside one REPEATABLE READ snapshot (so a commit landing mid-check never looks
like a break):
1. seals: numbered 1..k, each chaining to the previous head, signed by a known key (head and
   covered chains), and identical to its copy outside the database; a copy whose seal is gone from
   the database means sealed history was cut off. A seal signed by a key this installation does not
   know (a retired key nobody archived) cannot be checked: that is UNVERIFIABLE, not tampering;
2. chains: each run's (and the system chain's) entries walk from GENESIS (modified, deleted,
   inserted, reordered), end at the length/head kept on the run row, and reach every length/head
   a seal recorded for them (truncated);
3. Merkle: the entries in each seal's gseq range rebuild exactly its signed root, extending the
   previous seal's tree (pruned entries count through the leaves retention kept);
4. pruned runs: the length and head retention kept for a run are the ones the seals signed for it
   (exports state them in place of the pruned entries), and the system chain recorded the prune.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone

from audit.chain import DELETED, GENESIS, INSERTED, MODIFIED, TRUNCATED, verify_chain
from audit.merkle import verify_consistency
from audit.models import LedgerEntry, PrunedChain, PrunedLeaf, Seal, SystemChainHead, VerificationRun
from audit.offline_verifier import plural
from audit.sealing import (
    external_seals,
    prune_record_days,
    prune_too_early,
    seal_dir,
    seal_document,
    seal_frontier,
    seal_head,
    verify_chains_signature,
)
from audit.selectors_ledger import ledger_snapshot, unknown_run_message
from audit.services import SYSTEM_CHAIN
from audit.signing import (
    head_hash,
    key_files_ignored,
    load_verify_keys,
    public_key_dirs,
    public_keys_dir,
    verify_head_with_keyring,
)
from orchestrator.models import Run

# Not tampering: seals signed with a key this installation does not know, so they cannot be checked
# (a key retired without archiving its public half). Verification fails all the same: nothing is proven.
UNVERIFIABLE = "unverifiable"

_ENTRY_COLUMNS = ("gseq", "chain", "seq_run", "kind", "step", "actor", "at", "payload", "prev", "hash")


# The two shapes of a finding's `entry` (besides "seal 3"): made by _label and the checks below.
_RUN_LABEL = re.compile(r"(?:entry \d+ of )?run (.+?)(?: \(gseq \d+\))?")
_SEAL_LABEL = re.compile(r"seal (\d+)")
_GSEQ_SUFFIX = re.compile(r" \(gseq \d+\)$")


@dataclass(frozen=True)
class Finding:
    problem: str  # modified, deleted, inserted, reordered, truncated; or unverifiable (an unknown key)
    entry: str  # "entry 5 of run T-1 (gseq 42)", or "seal 3"
    detail: str
    gseq: int | None = None  # orders findings: the first bad entry in ledger order comes first

    @property
    def run(self) -> str | None:
        """The run whose entries this finding names ("entry 5 of run T-1 (gseq 42)", "run T-1"), if any."""
        match = _RUN_LABEL.fullmatch(self.entry)
        return match[1] if match else None

    @property
    def seal_no(self) -> int | None:
        """The seal this finding names ("seal 3"), if any."""
        match = _SEAL_LABEL.fullmatch(self.entry)
        return int(match[1]) if match else None

    def sentence(self) -> str:
        """"seal 3 was modified: …", or "seal 1 cannot be verified: …" (which is not a kind of tampering)."""
        happened = "cannot be verified" if self.problem == UNVERIFIABLE else f"was {self.problem}"
        named = _GSEQ_SUFFIX.sub("", self.entry)
        if self.detail.startswith(f"{named} {happened}"):
            # Most details already say what happened to the entry ("entry 4 of run T was modified: its
            # hash …"): prefixing the same words made the page and the CLI say it two or three times.
            return self.entry + self.detail[len(named):]
        return f"{self.entry} {happened}: {self.detail}"


@dataclass
class VerifyResult:
    scope: str
    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    entries: int = 0
    chains: int = 0
    seals: int = 0
    pruned: int = 0  # pruned runs whose kept length and head were checked against the seals

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first(self) -> Finding | None:
        if not self.findings:
            return None
        return min(self.findings, key=lambda f: (f.gseq is None, f.gseq or 0))

    def summary(self) -> str:
        if self.ok and not (self.entries or self.chains or self.pruned):
            # "OK: 0 entries verified" read as a pass, of nothing.
            where = {"all": "yet"}.get(self.scope, f"in {self.scope}" if self.scope.startswith("run ") else self.scope)
            return f"nothing to verify: no ledger entries {where}" + (
                f" ({plural(self.seals, 'seal')} checked)" if self.seals else "")
        if self.ok:
            pruned = f", {plural(self.pruned, 'pruned run')}" if self.pruned else ""
            return (f"OK: {plural(self.entries, 'entry', 'entries')} in {plural(self.chains, 'chain')}{pruned} and "
                    f"{plural(self.seals, 'seal')} verified ({self.scope})")
        first = self.first
        more = len(self.findings) - 1
        return (f"FAILED: {first.sentence()}"
                + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""))


def _label(entry: dict[str, Any]) -> str:
    return f"entry {entry['seq_run']} of run {entry['run']} (gseq {entry['gseq']})"


def _entry_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    gseq, chain, seq_run, kind, step, actor, at, payload, prev, digest = row
    try:
        body: Any = json.loads(payload)
    except ValueError:
        body = payload  # not JSON any more: it cannot match its hash, which verify_chain reports
    return {"run": chain, "seq_run": seq_run, "kind": kind, "step": step, "actor": actor, "at": at,
            "payload": body, "prev": prev, "hash": digest, "gseq": gseq}


def _chains_entries(chains: list[str] | None) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(chain, entries) for the chains asked (all when None), streamed from one ordered query."""
    rows = LedgerEntry.objects.order_by("chain", "seq_run", "gseq")
    if chains is not None:
        rows = rows.filter(chain__in=chains)
    current: str | None = None
    group: list[dict[str, Any]] = []
    for row in rows.values_list(*_ENTRY_COLUMNS).iterator(chunk_size=20_000):
        if row[1] != current:
            if current is not None:
                yield current, group
            current, group = row[1], []
        group.append(_entry_dict(row))
    if current is not None:
        yield current, group


# --- seals ----------------------------------------------------------------------------------------------
def _check_seals(seals: list[Seal], result: VerifyResult) -> dict[str, list[Any]]:
    """Checks 1; returns the newest sealed [length, head] of every chain any seal covered."""
    keyring = load_verify_keys()
    ignored = key_files_ignored()
    result.warnings.extend(ignored_file.warning() for ignored_file in ignored)
    external = external_seals()
    sealed_chains: dict[str, list[Any]] = {}
    by_no = {seal.seal_no: seal for seal in seals}
    unknown: dict[str, list[Seal]] = {}  # {key id: the seals it signed}, keys this installation does not know
    uncopied: list[Seal] = []  # seals with no copy outside the database
    previous = None
    for seal in seals:
        head = seal_head(seal)
        label = f"seal {seal.seal_no}"
        expected_prev = head_hash(seal_head(previous)) if previous else GENESIS
        if seal.seal_no != (previous.seal_no + 1 if previous else 1):
            result.findings.append(Finding(DELETED, label, f"seals before {label} are missing from the "
                                           "database", seal.first_gseq))
        elif seal.prev_head != expected_prev:
            result.findings.append(Finding(MODIFIED, label, f"{label} does not chain to the previous seal",
                                           seal.first_gseq))
        if seal.key_id not in keyring:
            unknown.setdefault(seal.key_id, []).append(seal)
        elif not verify_head_with_keyring(head, seal.signature, keyring):
            result.findings.append(Finding(MODIFIED, label, f"{label} is not validly signed: its signature does "
                                           "not match its contents", seal.first_gseq))
        elif not verify_chains_signature(head_hash(head), seal.chains, seal.chains_signature,
                                         keyring[seal.key_id]):
            result.findings.append(Finding(MODIFIED, label, f"the run heads recorded in {label} were "
                                           "altered after signing", seal.first_gseq))
        copy = external.get(seal.seal_no)
        if copy is None:
            uncopied.append(seal)
        elif copy[1] != json.loads(json.dumps(seal_document(seal))):
            result.findings.append(Finding(MODIFIED, label, f"{label} differs from its copy outside the "
                                           f"database ({copy[0]})", seal.first_gseq))
        for chain, value in seal.chains.items():
            sealed_chains[chain] = value
        previous = seal
    for kid, signed in unknown.items():
        result.findings.append(_unknown_key(kid, signed, ignored))
    newest = seals[-1].seal_no if seals else 0
    _check_copies_kept(uncopied, external.keys(), newest, result)
    for seal_no, (path, document) in sorted(external.items()):
        if seal_no in by_no:
            continue
        signed = document.get("seal", {})
        first, last = signed.get("first_gseq"), signed.get("last_gseq")
        where = "after the newest seal in the database" if seal_no > newest else "in the middle of the seals"
        result.findings.append(Finding(
            TRUNCATED, f"seal {seal_no}",
            f"seal {seal_no} (entries gseq {first}-{last}) exists outside the database ({path}) but not in "
            f"it, {where}: sealed history was cut off", first))
        if verify_chains_signature(head_hash(seal_head_from(signed)), document.get("chains", {}),
                                   document.get("chains_signature", ""), keyring.get(signed.get("key_id"))):
            for chain, value in document["chains"].items():
                if value[0] > sealed_chains.get(chain, [0])[0]:
                    sealed_chains[chain] = value
    return sealed_chains


def _check_copies_kept(uncopied: list[Seal], copied: Iterable[int], newest: int, result: VerifyResult) -> None:
    """The copies outside the database are what makes deleting the newest entries *and* their seals
    detectable, so what matters is that the newest seals have theirs. The newest may not yet (its copy
    is written just after the seal commits), and a copy missing between copied seals leaves nothing
    unpinned (a warning). But when the copies stop short of the newest seals, the seal directory is
    misconfigured, unwritable or was emptied (a seal pass writes every missing copy): the seals after
    the last copy could be deleted unnoticed, and verification must not pass as if that were checked."""
    if not uncopied:
        return
    last_copied = max((n for n in copied if n <= newest), default=0)
    unpinned = [seal for seal in uncopied if seal.seal_no > last_copied]
    holes = [seal for seal in uncopied if seal.seal_no < last_copied]
    if holes:
        result.warnings.append(f"{_seal_numbers(holes)} {'has' if len(holes) == 1 else 'have'} no copy in the "
                               f"seal directory; the next seal pass writes {'it' if len(holes) == 1 else 'them'}")
    if len(unpinned) == 1:
        result.warnings.append(f"seal {newest} has no copy in the seal directory yet")
    if len(unpinned) < 2:
        return
    first = unpinned[0]
    result.findings.append(Finding(
        UNVERIFIABLE, f"seal {first.seal_no}",
        f"{_seal_numbers(unpinned)} (the newest) have no copy in the seal "
        f"directory {seal_dir()} (GATEHOUSE_SEAL_DIR), so deleting them with the entries they cover would go "
        "unnoticed; if that is not the directory the sealer writes to, set GATEHOUSE_SEAL_DIR to it and verify "
        "again; if the copies were lost, the next seal pass (`manage.py audit seal`) writes them again from the "
        "database", first.first_gseq))


def _seal_numbers(seals: list[Seal]) -> str:
    numbers = [seal.seal_no for seal in seals]
    if len(numbers) == 1:
        return f"seal {numbers[0]}"
    if numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"seals {numbers[0]}-{numbers[-1]}"
    return f"{plural(len(numbers), 'seal')} ({', '.join(map(str, numbers[:5]))}{', …' if len(numbers) > 5 else ''})"


def _unknown_key(kid: str, signed: list[Seal], ignored: list[Any]) -> Finding:
    """One finding per unknown key, naming its seals and how to make this installation know it."""
    numbers = [seal.seal_no for seal in signed]
    which = f"{_seal_numbers(signed)} {'was' if len(signed) == 1 else 'were'}"
    dirs = " or ".join(str(directory) for directory in public_key_dirs())
    misnamed = [item.path for item in ignored if kid in item.key_ids]
    if misnamed:
        fix = (f"{misnamed[0]} holds it but is not read (only files named *.pub.pem are): rename it to "
               f"{misnamed[0].name.removesuffix('.pem')}.pub.pem")
    else:
        fix = (f"if it is a retired ledger key, archive its public key: save it as "
               f"{public_keys_dir() / (kid + '.pub.pem')}, or run `manage.py audit archive-key` with that key "
               "configured (GATEHOUSE_LEDGER_KEY or GATEHOUSE_LEDGER_KEY_FILE)")
    return Finding(UNVERIFIABLE, f"seal {numbers[0]}",
                   f"{which} signed with key {kid}, which is unknown to this installation (it is not the current "
                   f"ledger key, and no *.pub.pem file in {dirs} holds it), so its signatures cannot be checked; "
                   f"{fix}, then verify again", signed[0].first_gseq)


def seal_head_from(signed: dict[str, Any]) -> Any:
    from audit.signing import TreeHead

    try:
        return TreeHead.from_dict(signed)
    except (KeyError, TypeError):
        return TreeHead(0, 0, GENESIS, 0, 0, "", GENESIS, "")


# --- chains -----------------------------------------------------------------------------------------------
def _check_chain(chain: str, entries: list[dict[str, Any]], expected: tuple[int, str] | None,
                 sealed: list[Any] | None, result: VerifyResult) -> None:
    if expected is None:
        label = _label(entries[0]) if entries else f"run {chain}"
        result.findings.append(Finding(INSERTED, label, f"chain {chain} belongs to no run: its "
                                       f"{len(entries)} entries were inserted",
                                       entries[0]["gseq"] if entries else None))
        return
    length, head = expected
    check = verify_chain(entries, expected_len=length, expected_head=head)
    if not check.ok:
        at = entries[check.position] if check.position is not None else None
        label = (_label(at) if at is not None and at["seq_run"] == check.entry_seq
                 else f"entry {check.entry_seq} of run {chain}")
        gseq = at["gseq"] if at is not None else (entries[-1]["gseq"] if entries else None)
        result.findings.append(Finding(check.problem, label, check.detail, gseq))
        return
    if len(entries) > length:
        extra = entries[length]
        result.findings.append(Finding(
            INSERTED, _label(extra), f"run {chain} records {length} entries, but entries {length + 1}-"
            f"{len(entries)} follow them: they were inserted after the fact", extra["gseq"]))
        return
    if sealed is not None:
        sealed_len, sealed_head = sealed
        if len(entries) < sealed_len:
            result.findings.append(Finding(
                TRUNCATED, f"entry {len(entries) + 1} of run {chain}",
                f"run {chain} was truncated: a seal recorded {sealed_len} entries, it now has "
                f"{len(entries)}, so entries {len(entries) + 1}-{sealed_len} were deleted "
                "(and its run row rewritten to hide it)", entries[-1]["gseq"] if entries else None))
        elif entries[sealed_len - 1]["hash"] != sealed_head:
            result.findings.append(Finding(
                MODIFIED, _label(entries[sealed_len - 1]),
                f"entry {sealed_len} of run {chain} is not the one its seal recorded: the chain was "
                "rewritten", entries[sealed_len - 1]["gseq"]))


def _expected_heads() -> dict[str, tuple[int, str]]:
    heads = {thread: (length, head) for thread, length, head in
             Run.objects.filter(ledger_len__gt=0).values_list("thread_id", "ledger_len", "ledger_head")}
    system = SystemChainHead.objects.filter(pk=1).first()
    heads[SYSTEM_CHAIN] = (system.length, system.head) if system else (0, GENESIS)
    return heads


# --- Merkle ---------------------------------------------------------------------------------------------
def sealed_leaves(after: int, upto: int) -> Iterator[tuple[int, str, str, int]]:
    """(gseq, hash, chain, seq_run) of entries and pruned leaves with after < gseq <= upto, gseq order."""
    live = (LedgerEntry.objects.filter(gseq__gt=after, gseq__lte=upto).order_by("gseq")
            .values_list("gseq", "hash", "chain", "seq_run").iterator(chunk_size=50_000))
    pruned = (PrunedLeaf.objects.filter(gseq__gt=after, gseq__lte=upto).order_by("gseq")
              .values_list("gseq", "hash", "chain", "seq_run").iterator(chunk_size=50_000))
    import heapq

    return heapq.merge(live, pruned)


def seal_leaf_ranges(seals: list[Seal], selected: Container[int] | None = None,
                     ) -> Iterator[tuple[Seal, Seal | None, Iterator[tuple[int, str, str, int]]]]:
    """Each selected seal of `seals` (seal_no order; every seal when None) with seal_no - 1 (None for the
    first, or after a seal missing from the list: its leaves then start at the first) and the leaves it
    added, as sealed_leaves gives them (streamed: read them before the next seal). Consecutive selected seals share one read of their leaves: one
    query per stretch of seals, not two per seal (a seal a minute makes many small ones)."""
    pairs = [(seal, seals[n - 1] if n and seals[n - 1].seal_no == seal.seal_no - 1 else None)
             for n, seal in enumerate(seals)]
    n = 0
    while n < len(pairs):
        if selected is not None and pairs[n][0].seal_no not in selected:
            n += 1
            continue
        end = n
        while (end + 1 < len(pairs) and (selected is None or pairs[end + 1][0].seal_no in selected)
               and pairs[end + 1][1] is pairs[end][0]):
            end += 1
        first_previous = pairs[n][1]
        stream = sealed_leaves(first_previous.last_gseq if first_previous else 0, pairs[end][0].last_gseq)
        ahead = [next(stream, None)]  # the next leaf, read but not yet handed out
        for seal, previous in pairs[n:end + 1]:
            leaves = _leaves_upto(stream, ahead, seal.last_gseq)
            yield seal, previous, leaves
            for _unread in leaves:  # whatever the caller left of this seal's leaves
                pass
        n = end + 1


def _leaves_upto(stream: Iterator[tuple[int, str, str, int]], ahead: list[Any],
                 last_gseq: int) -> Iterator[tuple[int, str, str, int]]:
    while ahead[0] is not None and ahead[0][0] <= last_gseq:
        leaf, ahead[0] = ahead[0], next(stream, None)
        yield leaf


def _check_merkle(seals: list[Seal], selected: Iterable[int], result: VerifyResult) -> None:
    """Rebuild the root of each selected seal from the previous seal's frontier (the empty tree for 1)."""
    by_no = {seal.seal_no: seal for seal in seals}
    # A seal whose predecessor is missing is reported by the seal checks.
    wanted = {no for no in selected if no == 1 or no - 1 in by_no}
    for seal, previous, leaves in seal_leaf_ranges([by_no[no] for no in sorted(by_no)], wanted):
        seal_no = seal.seal_no
        frontier = seal_frontier(previous)
        if frontier is None:
            result.findings.append(Finding(
                MODIFIED, f"seal {previous.seal_no}", f"seal {previous.seal_no}'s stored frontier (the subtrees the "
                f"next seal's tree is built on) does not fold into its signed root: it was altered, so seal {seal_no} "
                "cannot be rebuilt from it", previous.first_gseq))
            continue
        covered = dict(seal.chains)
        over: tuple[int, str, int] | None = None
        count = 0
        for gseq, digest, chain, seq_run in leaves:
            frontier.append(bytes.fromhex(digest))
            count += 1
            if over is None and seq_run > covered.get(chain, [0])[0]:
                over = (gseq, chain, seq_run)
        expected = seal.tree_size - (previous.tree_size if previous else 0)
        if frontier.size == seal.tree_size and frontier.root().hex() == seal.root:
            if previous and seal.consistency is not None and seal_consistency(previous, seal) is None:
                result.findings.append(Finding(
                    MODIFIED, f"seal {seal_no}", f"seal {seal_no}'s stored consistency proof does not prove seal "
                    f"{previous.seal_no}'s signed tree a prefix of its own: it was altered (exports recompute it; "
                    "restore it from a backup)", seal.first_gseq))
            continue
        label = f"seal {seal_no}"
        span = f"entries gseq {seal.first_gseq}-{seal.last_gseq}"
        if over is not None:
            gseq, chain, seq_run = over
            result.findings.append(Finding(
                INSERTED, f"entry {seq_run} of run {chain} (gseq {gseq})",
                f"entry {seq_run} of run {chain} sits in {label}'s range ({span}) but that seal never "
                "covered it: it was inserted after sealing", gseq))
        elif count < expected:
            result.findings.append(Finding(
                DELETED, label, f"{label} covers {expected} entries ({span}); only {count} remain, so "
                f"{_were(expected - count)} deleted", seal.first_gseq))
        elif count > expected:
            result.findings.append(Finding(
                INSERTED, label, f"{label} covers {expected} entries ({span}); {count} are there now, so "
                f"{_were(count - expected)} inserted", seal.first_gseq))
        else:
            result.findings.append(Finding(
                MODIFIED, label, f"the entries in {label}'s range ({span}) no longer rebuild its signed "
                "Merkle root: an entry was re-hashed or its gseq changed", seal.first_gseq))


def seal_consistency(previous: Seal, seal: Seal) -> list[bytes] | None:
    """The consistency proof kept in `seal`'s row from `previous` (seal_no - 1), if it proves the step between
    their signed roots; None when there is none (seal 1, seals made before it was kept) or it does not."""
    if not seal.consistency or previous.seal_no != seal.seal_no - 1:
        return None
    try:
        proof = [bytes.fromhex(node) for node in seal.consistency]
    except (TypeError, ValueError):
        return None
    ok = verify_consistency(previous.tree_size, seal.tree_size, bytes.fromhex(previous.root),
                            bytes.fromhex(seal.root), proof)
    return proof if ok else None


def _were(count: int) -> str:
    return "1 was" if count == 1 else f"{count} were"


def ledger_merkle_findings(seals: list[Seal]) -> list[Finding]:
    """What `audit verify` finds rebuilding each of `seals` from the leaves in the database (the
    exporter's explanation when it cannot compute proofs)."""
    result = VerifyResult(scope="seals")
    _check_merkle(seals, [seal.seal_no for seal in seals], result)
    return sorted(result.findings, key=lambda f: (f.gseq is None, f.gseq or 0))


# --- pruned runs -------------------------------------------------------------------------------------------
def retention_prune_payloads() -> dict[int, Any]:
    """{gseq: payload} of the system chain's retention_pruned entries: the record retention writes of every
    prune (audit/retention.py), with the runs it pruned and the retention period it applied."""
    payloads: dict[int, Any] = {}
    for gseq, payload in (LedgerEntry.objects.filter(chain=SYSTEM_CHAIN, kind="retention_pruned")
                          .order_by("gseq").values_list("gseq", "payload").iterator()):
        try:
            payloads[gseq] = json.loads(payload)
        except (ValueError, TypeError):
            continue  # not what retention writes: it records no prune
    return payloads


def retention_prune_records(runs: set[str] | None = None,
                            payloads: dict[int, Any] | None = None) -> dict[str, list[int]]:
    """{run: gseqs of the retention_pruned entries that list it} (for `runs`, or every run; from `payloads`
    when the caller read them). A run with none was not pruned by retention. An export names these entries;
    `audit verify` requires one per prune record."""
    recorded: dict[str, list[int]] = {}
    for gseq, payload in (retention_prune_payloads() if payloads is None else payloads).items():
        listed = payload.get("runs", []) if isinstance(payload, dict) else []
        for run in listed if isinstance(listed, list) else []:
            if isinstance(run, str) and (runs is None or run in runs):
                recorded.setdefault(run, []).append(gseq)
    return recorded


class SealRanges:
    """Seals in seal_no order, and the one covering a gseq by bisection: seal k covers the gseqs after
    seal k - 1's last one, up to its own last one."""

    def __init__(self, seals: list[Seal]) -> None:
        self.seals = seals
        self._lasts = [seal.last_gseq for seal in seals]

    def covering(self, gseq: int) -> Seal | None:
        at = bisect.bisect_left(self._lasts, gseq)
        return self.seals[at] if at < len(self.seals) else None


def _check_pruned(chains: Iterable[str] | None, seals: list[Seal], sealed_chains: dict[str, list[Any]],
                  expected: dict[str, tuple[int, str]], result: VerifyResult) -> None:
    """What retention kept of each pruned run (the run's length and head) is what the seals signed and its
    run row records: an export states it in place of the entries, and the verifier holds it to the seal.
    And retention recorded pruning it in the system chain: a prune record without one is entries deleted
    outside retention, with the record forged to pass for it. And the seals' signed times allow the prune
    (prune_too_early)."""
    rows = PrunedChain.objects.order_by("chain")
    if chains is not None:
        rows = rows.filter(chain__in=chains)
    rows = list(rows)
    result.pruned = len(rows)
    if not rows:
        return
    payloads = retention_prune_payloads()
    recorded = retention_prune_records({p.chain for p in rows}, payloads)
    timing = _PruneTiming(seals, {p.chain for p in rows})
    for pruned in rows:
        if pruned.chain not in recorded:
            result.findings.append(Finding(
                DELETED, f"run {pruned.chain}", f"run {pruned.chain}'s entries are gone and a prune record says "
                "retention removed them, but no retention_pruned entry in the system chain records pruning it: "
                "they were deleted outside retention"))
            continue
        chain, kept = pruned.chain, [pruned.length, pruned.head]
        sealed = sealed_chains.get(chain)
        row_head = expected.get(chain)
        if sealed is not None and list(sealed) != kept:
            why = f"seals signed {sealed[0]} entries, the newest with head {sealed[1][:12]}…"
        elif sealed is None:
            why = "no seal signed a head for it, so what was pruned cannot be proven"
        elif row_head is not None and list(row_head) != kept:
            why = f"its run row records {row_head[0]} entries, the newest with head {row_head[1][:12]}…"
        else:
            record = recorded[chain][0]
            early = timing.too_early(chain, record, payloads[record])
            if early:
                result.findings.append(Finding(DELETED, f"run {chain}", early))
            continue
        result.findings.append(Finding(
            MODIFIED, f"run {chain}", f"retention's record of pruned run {chain} says {pruned.length} entries, "
            f"the newest with head {pruned.head[:12]}…, but {why}: the prune record was altered"))


class _PruneTiming:
    """prune_too_early for pruned runs, from the seals in the database: for each run, the seal before the
    first seal naming it, found in one pass over the seals."""

    def __init__(self, seals: list[Seal], runs: set[str]) -> None:
        self.ranges = SealRanges(seals)
        self.before: dict[str, Seal | None] = {}
        for n, seal in enumerate(seals):
            for run in runs.intersection(seal.chains):
                # None when the first seal naming it is seal 1 (nothing bounds its start) or follows a gap.
                previous = seals[n - 1] if n and seals[n - 1].seal_no == seal.seal_no - 1 else None
                self.before.setdefault(run, previous)
        workflows = Run.objects.filter(thread_id__in=list(runs)).values_list("thread_id", "workflow")
        self.workflows = dict(workflows)

    def too_early(self, run: str, record: int, payload: Any) -> str:
        before = self.before.get(run)
        if before is None:
            return ""
        covering = self.ranges.covering(record)
        return prune_too_early(run, prune_record_days(payload, self.workflows.get(run)),
                               (before.seal_no, before.sealed_at),
                               (covering.seal_no, covering.sealed_at) if covering else None, record, timezone.now())


# --- entry point -------------------------------------------------------------------------------------------
def ledger_verify(*, run: str | None = None, since: date | datetime | None = None, actor: str = "",
                  record: bool = True) -> VerifyResult:
    """Verify the whole ledger, one run's chain (`run` = thread id), or what changed since a date."""
    started = timezone.now()
    if run is not None:
        scope = f"run {run}"
    elif since is not None:
        scope = f"since {since.isoformat()}"
    else:
        scope = "all"
    result = VerifyResult(scope=scope)
    with ledger_snapshot():
        seals = list(Seal.objects.order_by("seal_no"))
        result.seals = len(seals)
        sealed_chains = _check_seals(seals, result)
        expected = _expected_heads()
        pruned = set(PrunedChain.objects.values_list("chain", flat=True))

        if run is not None:
            if not Run.objects.filter(thread_id=run).exists():
                raise LookupError(unknown_run_message(run))
            wanted: list[str] | None = [run]
        elif since is not None:
            since_iso = (since if isinstance(since, datetime) else datetime.combine(since, datetime.min.time(),
                                                                                    tzinfo=UTC))
            at = since_iso.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
            wanted = sorted(set(LedgerEntry.objects.filter(at__gte=at).values_list("chain", flat=True)))
        else:
            wanted = None
        seen: set[str] = set()
        for chain, entries in _chains_entries(wanted):
            seen.add(chain)
            result.chains += 1
            result.entries += len(entries)
            _check_chain(chain, entries, expected.get(chain), sealed_chains.get(chain), result)
        _check_pruned(wanted, seals, sealed_chains, expected, result)
        # Chains whose every entry is gone: a run row or a seal still says they had some.
        candidates = set(wanted) if wanted is not None else set(expected) | set(sealed_chains)
        for chain in sorted(candidates - seen - pruned):
            length = max(expected.get(chain, (0, ""))[0], sealed_chains.get(chain, [0])[0])
            if length:
                result.chains += 1
                result.findings.append(Finding(
                    TRUNCATED, f"entry 1 of run {chain}",
                    f"run {chain} records {length} entries but none remain: entries 1-{length} were deleted"))

        if run is not None or since is not None:
            touched = _seals_touching(seals, run=run, since=since)
        else:
            touched = [seal.seal_no for seal in seals]
        _check_merkle(seals, touched, result)
    if record:
        first = result.first
        VerificationRun.objects.create(
            started_at=started, finished_at=timezone.now(), scope=scope, ok=result.ok,
            problem=first.problem if first else "", entry=first.entry if first else "",
            detail=result.summary(), entries=result.entries, seals=result.seals, actor=actor,
            failed_runs=findings_runs(result.findings, seals) if first else None,
        )
    return result


def _seals_touching(seals: list[Seal], *, run: str | None, since: date | datetime | None) -> list[int]:
    if run is not None:
        ranges = SealRanges(seals)
        covering = {ranges.covering(gseq) for gseq in LedgerEntry.objects.filter(chain=run).values_list("gseq",
                                                                                                        flat=True)}
        return sorted({seal.seal_no for seal in covering if seal} | {s.seal_no for s in seals if run in s.chains})
    cutoff = since.isoformat() if since is not None else ""
    return [s.seal_no for s in seals if s.sealed_at >= cutoff]


def findings_runs(findings: list[Finding], seals: list[Seal]) -> list[str] | None:
    """The runs whose badge a failed verification turns red: those a finding names, and every run with
    entries under a seal a finding names (a seal that does not check out vouches for none of them).
    None when a finding names neither (its seal is gone from the database): then no run is vouched for."""
    by_no = {seal.seal_no: seal for seal in seals}
    runs = {finding.run for finding in findings if finding.run is not None}
    named = {finding.seal_no for finding in findings if finding.run is None}
    if not named <= by_no.keys():  # also a finding that names neither a run nor a seal (None)
        return None
    spans = Q()
    for seal_no in named:  # each seal once, however many of its checks failed
        runs.update(by_no[seal_no].chains)
        spans |= Q(gseq__range=(by_no[seal_no].first_gseq, by_no[seal_no].last_gseq))
    if named:
        for rows in (LedgerEntry.objects, PrunedLeaf.objects):
            runs.update(rows.filter(spans).values_list("chain", flat=True).distinct())
    runs.discard(SYSTEM_CHAIN)
    return sorted(runs)


def verification_last() -> VerificationRun | None:
    return VerificationRun.objects.order_by("-id").first()
