"""The seals a JSONL export carries, their trees, and the consistency proofs between them
(docs/ledger-export-format.md, version 6).

A seal is made every minute the ledger has new entries, so a ledger a year old has some 500,000 of them.
An export of one run carries the seals that signed a head for it (its entries are in them), not every
seal; for a pruned run also the seal before the first of those, which bounds when the run started (the
retention check needs it). A one-run export then stays the size of the run, however old the ledger is.

Between two carried seals one consistency proof shows that the later tree extends the earlier one. Seals
next to each other have theirs stored in the later seal's row. Across a stretch of seals left out, it is
computed from the earlier seal's frontier and the leaves sealed in between, unless carrying some of the
seals in between costs less than reading their leaves (seals of many entries): `seals_bridging` weighs
the two, and caps the leaves one proof reads.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Container, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import NoReturn

from django.db import connection

from audit.export_errors import LedgerDamaged
from audit.merkle import FrontierTree
from audit.models import LedgerEntry, PrunedChain, Seal
from audit.sealing import seal_frontier
from audit.selectors_ledger import ledger_snapshot
from audit.verify import (
    ledger_merkle_findings,
    retention_prune_records,
    seal_consistency,
    seal_leaf_ranges,
    sealed_leaves,
)

# A seal line in an export (~1.2 KiB with its signature, and a signature for the auditor to check) costs
# about what reading and hashing this many leaves does; the cheaper of the two bridges a stretch of seals.
SEAL_LINE_IN_LEAVES = 64
# The most leaves one consistency proof across left-out seals reads and holds in memory (~70 bytes each).
GAP_LEAVES_MAX = 250_000


def chunks(items: Sequence, size: int = 500) -> Iterator[Sequence]:
    # Keeps IN lists short.
    return (items[i:i + size] for i in range(0, len(items), size))


SealTree = tuple[FrontierTree, dict[int, int]]  # a seal's tree, and each of its own leaves' index by gseq


def seal_tree_load(seal: Seal) -> SealTree:
    """The tree of `seal` as its previous seal's frontier plus the leaves sealed since, and each of
    those leaves' index: what proofs into `seal` need, reading and holding one seal's range rather than
    the whole ledger.

    Rows deleted, added or re-hashed in the database (triggers bypassed) would make the proofs wrong: when
    the leaves do not rebuild the seal's signed root this raises LedgerDamaged, saying what `audit verify`
    finds."""
    previous = Seal.objects.filter(seal_no=seal.seal_no - 1).first()
    ((_seal, loaded),) = seal_trees([previous, seal] if previous else [seal], {seal.seal_no})
    if loaded is None:
        ledger_damaged(seal)
    return loaded


def seal_trees(seals: list[Seal], selected: Container[int] | None = None) -> Iterator[tuple[Seal, SealTree | None]]:
    """Each selected seal's tree and leaf index (seal_tree_load), or None when its previous seal's frontier
    or its own leaves do not rebuild its signed root; consecutive seals' leaves are read in one query.
    `seals` must hold each selected seal's previous one (seal_no - 1), whose frontier its tree starts from."""
    for seal, previous, leaves in seal_leaf_ranges(seals, selected):
        known = seal_frontier(previous)
        if known is None:
            yield seal, None
            continue
        index: dict[int, int] = {}
        hashes: list[bytes] = []
        for gseq, digest, _chain, _seq in leaves:
            index[gseq] = known.size + len(hashes)
            hashes.append(bytes.fromhex(digest))
        tree = FrontierTree(known.nodes, hashes)
        yield seal, (tree, index) if tree.size == seal.tree_size and tree.root().hex() == seal.root else None


def ledger_damaged(seal: Seal) -> NoReturn:
    """Refuse an export or a proof: the leaves no longer rebuild `seal`, naming what was done to them."""
    # Only on this path: rebuilding each seal names the seals whose leaves were deleted, added or changed.
    seals = list(Seal.objects.filter(seal_no__lte=seal.seal_no).order_by("seal_no"))
    findings = [finding.detail for finding in ledger_merkle_findings(seals)]
    found = "; ".join(findings[:3]) + (f"; and {len(findings) - 3} more" if len(findings) > 3 else "") or (
        f"the leaves in the database do not rebuild seal {seal.seal_no}'s signed Merkle root")
    raise LedgerDamaged(
        f"the ledger in the database no longer matches its seals ({found}), so no inclusion proof can be "
        "computed and nothing was exported. Run `manage.py audit verify` to see which entries were deleted or "
        "changed, and restore them (e.g. from a backup) before exporting again")


class SealOutline:
    """Every seal's number, tree size and last gseq, in seal_no order: what choosing an export's seals
    needs, 24 bytes a seal rather than a row each."""

    def __init__(self, rows: Iterable[tuple[int, int, int]]) -> None:
        self.numbers, self.sizes, self.lasts = array("q"), array("q"), array("q")
        for seal_no, tree_size, last_gseq in rows:
            self.numbers.append(seal_no)
            self.sizes.append(tree_size)
            self.lasts.append(last_gseq)

    @classmethod
    def load(cls) -> SealOutline:
        return cls(Seal.objects.order_by("seal_no").values_list("seal_no", "tree_size", "last_gseq")
                   .iterator(chunk_size=50_000))

    def __len__(self) -> int:
        return len(self.numbers)

    def index_of(self, seal_no: int) -> int | None:
        at = bisect.bisect_left(self.numbers, seal_no)
        return at if at < len(self.numbers) and self.numbers[at] == seal_no else None

    def covering(self, gseq: int) -> int | None:
        """The index of the seal whose range holds gseq (seal k covers the gseqs after seal k - 1's last)."""
        at = bisect.bisect_left(self.lasts, gseq)
        return at if at < len(self.lasts) else None


def first_missing(numbers: Sequence[int]) -> int | None:
    """The first seal number missing from 1..newest in `numbers` (unique, rising; None: none is), by bisection."""
    if not numbers or (numbers[0] == 1 and numbers[-1] == len(numbers)):
        return None  # unique and rising from 1 to the count: every number is there
    low, high = 0, len(numbers)  # numbers[i] == i + 1 up to the first gap, and not from there on
    while low < high:
        middle = (low + high) // 2
        low, high = (middle + 1, high) if numbers[middle] == middle + 1 else (low, middle)
    return low + 1


def refuse_missing_seal(missing: int | None) -> None:
    """Seals are numbered 1, 2, 3 ... without gaps (each is the previous one's number plus one): a number
    missing from the database is a seal row deleted. Which seals an export carries is chosen from the rows, so
    one deleted would be left out unnoticed, and with it the run heads it signed or the time it bounds (a
    version 5 export, carrying every seal, failed offline on the gap): refuse, as for a damaged ledger."""
    if missing is not None:
        raise LedgerDamaged(
            f"seal {missing} is missing from the database (seals are numbered without gaps, so its row was "
            "deleted): an export chosen from the remaining seals would leave out what it signed, so nothing was "
            "exported. Run `manage.py audit verify`, and restore the seal from its copy outside the database "
            "(GATEHOUSE_SEAL_DIR) or a backup before exporting again")


def seals_bridging(sizes: Sequence[int], needed: Iterable[int], *, seal_cost: int | None = None,
                   gap_max: int | None = None) -> list[int]:
    """The indexes of the seals to carry: the `needed` ones, and those in between that are cheaper to
    carry than to prove across (`sizes`: each seal's tree size, in seal order).

    Two carried seals next to each other need no leaves (the later seal's row keeps the proof); carried
    apart, the proof reads every leaf sealed between them. So each step from one seal to the next costs
    its leaves unless both its seals are carried, and carrying a seal costs `seal_cost` leaves: a shortest
    path over (seal, carried or not), one stretch between needed seals at a time. A stretch whose proof
    would still read more than `gap_max` leaves is then split by carrying seals inside it."""
    seal_cost = SEAL_LINE_IN_LEAVES if seal_cost is None else seal_cost
    gap_max = GAP_LEAVES_MAX if gap_max is None else gap_max
    chosen = sorted(set(needed))
    carried = list(chosen)
    for start, end in zip(chosen, chosen[1:], strict=False):
        if end > start + 1:
            carried += _cheapest_bridge(sizes, start, end, seal_cost, gap_max)
    return sorted(carried)


def _cheapest_bridge(sizes: Sequence[int], start: int, end: int, seal_cost: int, gap_max: int) -> list[int]:
    """The seals strictly between `start` and `end` (both carried) to carry too."""
    infinite = float("inf")
    # cost[t] = (cheapest with seal t carried, with it left out); how[t] = the state of t - 1 on that path.
    carried_cost, left_cost = 0.0, infinite
    how: list[tuple[bool, bool]] = []
    for t in range(start + 1, end + 1):
        leaves = sizes[t] - sizes[t - 1]
        via_carried = carried_cost  # both ends carried: the stored proof, no leaves
        via_left = left_cost + leaves
        new_carried = min(via_carried, via_left) + (seal_cost if t < end else 0)
        carried_from = via_carried <= via_left
        stay_carried, stay_left = carried_cost + leaves, left_cost + leaves
        new_left = min(stay_carried, stay_left) if t < end else infinite
        how.append((carried_from, stay_carried <= stay_left))
        carried_cost, left_cost = new_carried, new_left
    picked: list[int] = []
    state = True  # `end` is carried
    for t in range(end, start, -1):
        from_carried = how[t - start - 1][0 if state else 1]
        if t - 1 > start and from_carried:
            picked.append(t - 1)
        state = from_carried
    picked.reverse()
    # Split stretches that would read too many leaves by carrying the seal before the limit is passed.
    capped: list[int] = []
    previous = start
    for t in [*picked, end]:
        for middle in range(previous + 1, t):
            if sizes[middle + 1] - sizes[previous] > gap_max:
                capped.append(middle)
                previous = middle
        capped.append(t)
        previous = t
    return [t for t in capped if t != end]


@dataclass(frozen=True)
class SealedHistory:
    """What a JSONL export proves into: the seals it carries (those its entries are in checked against
    their leaves), the consistency proof from each to the next it carries, and the ledger's seals when
    it was read."""

    seals: list[Seal]  # carried, in seal_no order
    consistency: list[list[bytes]]  # seals[i] -> seals[i + 1]
    frames: list[Seal]  # the carried seals and the seal before each: what rebuilding their trees starts from
    last_seal: int  # the ledger's newest seal (0: none)
    sealed_upto: int  # its last gseq: every exported entry up to it is proven into a carried seal


def sealed_history_load(runs: list[str] | None = None) -> SealedHistory:
    """Read before a JSONL export of `runs` (None: every run, and every seal) is recorded, so a damaged
    ledger refuses it (LedgerDamaged) before any byte.

    The seals covering the exported entries (and the system entries recording their prunes) are rebuilt
    from their leaves, one seal's range at a time: their proofs must be right. The consistency proof
    between seals next to each other comes from the later seal's row, checked against both signed roots
    (rebuilt from the leaves when it is not there or does not check); across left-out seals it is computed
    from the leaves, and checked the same way. So a one-run export reads the seals its entries are in and
    what lies between them, not the whole ledger."""
    with ledger_snapshot():
        if runs is None:
            frames = list(Seal.objects.order_by("seal_no"))
            refuse_missing_seal(first_missing([seal.seal_no for seal in frames]))
            carried, rebuild = frames, None
            newest = (frames[-1].seal_no, frames[-1].last_gseq) if frames else (0, 0)
        else:
            outline = SealOutline.load()
            refuse_missing_seal(first_missing(outline.numbers))
            needed = _needed(runs, outline)
            numbers = [outline.numbers[i] for i in seals_bridging(outline.sizes, needed)]
            wanted = sorted(set(numbers) | {n - 1 for n in numbers if n > 1})
            frames = sorted((seal for chunk in chunks(wanted, 5000) for seal in Seal.objects.filter(seal_no__in=chunk)),
                            key=lambda seal: seal.seal_no)
            by_no = {seal.seal_no: seal for seal in frames}
            carried, rebuild = [by_no[n] for n in numbers], {outline.numbers[i] for i in needed}
            newest = (outline.numbers[-1], outline.lasts[-1]) if len(outline) else (0, 0)
        proofs = _consistency(carried, frames, rebuild)
    return SealedHistory(carried, [proofs[seal.seal_no] for seal in carried[1:]], frames, *newest)


def _needed(runs: list[str], outline: SealOutline) -> set[int]:
    """Indexes (in `outline`) of the seals an export of `runs` needs: those that signed a head for one of
    them (their `chains` name it), which the verifier holds each run to, even if its entries or its prune
    record were deleted from the database since; those covering an entry of them or a system entry
    recording a prune, which its proofs go into; and for each pruned run, the seal before the first that
    named it, which bounds when the run started (the retention check)."""
    if not len(outline):
        return set()
    last = outline.lasts[-1]
    gseqs = [gseq for chunk in chunks(runs) for gseq in LedgerEntry.objects.filter(
        chain__in=chunk, gseq__lte=last).values_list("gseq", flat=True).iterator(chunk_size=50_000)]
    gseqs += [gseq for recorded in retention_prune_records(set(runs)).values() for gseq in recorded]
    needed = {at for at in map(outline.covering, gseqs) if at is not None}
    pruned = {chain for chunk in chunks(runs) for chain in PrunedChain.objects.filter(chain__in=chunk)
              .values_list("chain", flat=True)}
    for chunk in chunks(runs):
        with connection.cursor() as cursor:
            # The GIN index on chains answers `?|`; jsonb_object_keys then names which run each seal pins.
            cursor.execute(_NAMING, [list(chunk), list(chunk)])
            for run, first, seal_nos in cursor.fetchall():
                named = [outline.index_of(seal_no) for seal_no in seal_nos]
                needed.update(at for at in named if at is not None)
                first_at = outline.index_of(first)
                if run in pruned and first_at:
                    needed.add(first_at - 1)
    return needed


_NAMING = """
SELECT run, min(s.seal_no), array_agg(s.seal_no)
  FROM audit_seal s CROSS JOIN LATERAL jsonb_object_keys(s.chains) AS run
 WHERE s.chains ?| %s::text[] AND jsonb_typeof(s.chains) = 'object' AND run = ANY(%s::text[])
 GROUP BY run
"""


def _consistency(carried: list[Seal], frames: list[Seal], rebuild: set[int] | None) -> dict[int, list[bytes]]:
    """{seal_no: the consistency proof into it from the carried seal before it}, for every carried seal
    but the first; rebuilds the `rebuild` seals (None: all) from their leaves, refusing a damaged ledger."""
    proofs: dict[int, list[bytes]] = {}
    before = dict(zip((seal.seal_no for seal in carried[1:]), carried, strict=False))
    apart = []
    for old, new in zip(carried, carried[1:], strict=False):
        if new.seal_no != old.seal_no + 1:
            apart.append((old, new))
            continue
        # Altered (it no longer proves the step between the signed roots): rebuilt, and refused if that fails.
        proof = seal_consistency(old, new)
        if proof is not None:
            proofs[new.seal_no] = proof
        elif rebuild is not None:
            rebuild.add(new.seal_no)
    for seal, loaded in seal_trees(frames, rebuild):
        if loaded is None:
            ledger_damaged(seal)
        old = before.get(seal.seal_no)
        if old is not None and seal.seal_no not in proofs and old.seal_no == seal.seal_no - 1:
            proofs[seal.seal_no] = loaded[0].consistency_proof(old.tree_size)
    for old, new in apart:
        proofs[new.seal_no] = _proof_across(old, new)
    return proofs


def _proof_across(old: Seal, new: Seal) -> list[bytes]:
    """The consistency proof from `old` to `new` across the seals between them: `old`'s frontier plus
    every leaf sealed after it up to `new`, checked to rebuild `new`'s signed root."""
    known = seal_frontier(old)
    if known is None:
        ledger_damaged(old)
    leaves = [bytes.fromhex(digest) for _gseq, digest, _chain, _seq in sealed_leaves(old.last_gseq, new.last_gseq)]
    tree = FrontierTree(known.nodes, leaves)
    if tree.size != new.tree_size or tree.root().hex() != new.root:
        ledger_damaged(new)
    return tree.consistency_proof(old.tree_size)
