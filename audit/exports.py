"""Compliance exports: JSONL (docs/ledger-export-format.md, checkable offline), CSV, PDF (audit/report_pdf.py).

Every export is selected by an `ExportScope` (one run, or runs by date range / workflow / actor; each
selected run is exported whole, from entry 1, up to its newest entry), streamed line by line with a
progress callback, and recorded first as an "export" entry in the system chain: who exported what, in
which format.

A JSONL export proves it is complete, not only genuine: its seal lines carry the signed run heads
(`chains`) of every seal that pins an exported run, and it ends with a manifest, signed with the ledger
key, of each exported run's [length, head] as Gatehouse records it and of the newest seal that pins it.
Cutting entries off the end of a run then fails offline verification, sealed or not; so does cutting
sealed entries from the database before the export, since that seal's heads must be in the export.

A run retention pruned has no entries left: the export states it was pruned (a `pruned` line: its final
length and head, the seal that signed them, when and under which retention period), the manifest signs
that too, and the verifier holds it to the seal. The retention_pruned entries of the system chain that
recorded each prune are exported with it (and named in the pruned line), so the verifier can tell a prune
retention made from entries deleted behind a forged prune record.

A JSONL export is refused before anything is recorded or sent when the database's ledger rows no longer
rebuild the seals' Merkle tree (rows deleted or changed behind Gatehouse's back): no inclusion proof could
be computed, and `manage.py audit verify` names what happened.
"""

from __future__ import annotations

import bisect
import csv
import io
import json
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db.models import Exists, OuterRef, Q

from audit.canonical import canonical_json
from audit.date_range import REVERSED
from audit.export_errors import ExportError
from audit.export_seals import SealedHistory, chunks, seal_tree_load, seal_trees, sealed_history_load
from audit.filenames import download_filename, filename_part
from audit.ledger import utc_now_iso
from audit.models import LedgerEntry, PrunedChain, Seal
from audit.offline_verifier import seal_ranges
from audit.sealing import ledger_signing_key, seal_head
from audit.selectors_ledger import WHERE_THREAD_IDS_ARE, ledger_snapshot, unknown_run_message
from audit.services import SYSTEM_CHAIN, system_ledger_append
from audit.signing import MANIFEST_CONTEXT, LedgerKeyError, key_id, sign_document
from audit.spreadsheet import csv_text
from audit.verify import SealRanges, retention_prune_records
from orchestrator.models import Run
from orchestrator.registry import UnknownWorkflow
from orchestrator.roles import ADMIN, COMPLIANCE
from orchestrator.selectors import workflow_known
from orchestrator.value_errors import has_nul

FORMATS = ("jsonl", "csv", "pdf")
EXPORTERS = (COMPLIANCE, ADMIN)  # the roles that may export, on the audit page and with `audit export --as`
# 2: seal lines carry their signed run heads, and a signed manifest closes the export.
# 3: a pruned run is stated (a `pruned` line, and the manifest's `pruned`) instead of listed as empty.
# 4: the manifest signs the format version and, per run, the newest seal that pins it (`pinned_by`), so a
#    seal's run heads cannot be stripped from an export unnoticed.
# 5: each pruned line names the system chain's retention_pruned entries that recorded the prune
#    (`recorded_by`), and the export includes them with their proofs, so a prune forged in the database
#    (entries deleted behind a hand-written PrunedChain row) fails offline too, not only `audit verify`.
# 6: an export carries the seals its entries need (audit/export_seals.py), not every seal: the manifest
#    signs which (`seals`, as ranges of seal numbers) and up to which gseq the ledger was sealed
#    (`sealed_upto`), and a consistency proof may span seals left out.
JSONL_VERSION = 6
CONTENT_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8", "pdf": "application/pdf"}
Progress = Callable[[int, int], None]
Stage = Callable[[str], None]  # told of a long step that has no count to show, e.g. "building the PDF…"


def _moment(day: date, *, end: bool = False) -> datetime:
    return datetime.combine(day, time.max if end else time.min, tzinfo=UTC)


def _iso(day: date, *, end: bool = False) -> str:
    return _iso_moment(_moment(day, end=end))


def _iso_moment(moment: datetime) -> str:
    """ISO-8601 UTC as the ledger writes it (entries' `at`)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class ExportScope:
    run: str | None = None
    since: date | None = None
    until: date | None = None
    workflow: str | None = None
    actor: str | None = None

    def describe(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, date) else v)
                for k, v in {"run": self.run, "since": self.since, "until": self.until,
                             "workflow": self.workflow, "actor": self.actor}.items() if v}

    def everything(self) -> bool:
        """No run and no filter: every run's entries."""
        return not self.describe()

    def label(self) -> str:
        parts = [f"{k} {v}" for k, v in self.describe().items()]
        return ", ".join(parts) or "all runs"

    def runs(self) -> list[str]:
        """Thread ids of the selected runs, oldest first: those with an entry matching the filters, and
        those whose entries are gone (pruned by retention, or deleted) whose lifetime matches them."""
        # `run` is None when no run was asked for. An empty one (`--run ""`, an unset shell variable) is
        # not "no run": read as falsy it exported every run instead of the one meant.
        if self.run is not None and not self.run.strip():
            raise ExportError(f"the run to export is empty: give a thread id as shown in {WHERE_THREAD_IDS_ARE}, "
                              "or leave the run out to export by date range, workflow or actor")
        holding = [name for name in ("run", "workflow", "actor") if has_nul(getattr(self, name) or "")]
        if holding:  # PostgreSQL refuses a NUL in a query (a 500); no run, workflow or user name holds one
            raise ExportError(f"the {' and '.join(holding)} may not contain the NUL character (%00): remove it, "
                              f"or copy a thread id as shown in {WHERE_THREAD_IDS_ARE}")
        if self.run:
            # A run is exported whole, and its scope names it alone: filters beside it would be ignored.
            if self.since or self.until or self.workflow or self.actor:
                raise ExportError("a run is exported whole, so it takes no date range, workflow or actor: clear "
                                  "them to export the run, or clear the run to export by them")
            if not Run.objects.filter(thread_id=self.run).exists():
                raise ExportError(unknown_run_message(self.run))
            return [self.run]
        if self.since and self.until and self.since > self.until:
            raise ExportError(REVERSED)
        if self.workflow:
            try:
                workflow_known(self.workflow)  # "no runs match" would read as if it had runs, none in range
            except UnknownWorkflow as exc:
                raise ExportError(str(exc)) from None
        entries = LedgerEntry.objects.exclude(chain="system")
        if self.since:
            entries = entries.filter(at__gte=_iso(self.since))
        if self.until:
            entries = entries.filter(at__lte=_iso(self.until, end=True))
        if self.actor:
            entries = entries.filter(actor=self.actor)
        # EXISTS, probed per run through (chain, seq_run): `thread_id IN (entries)` beside the OR below was
        # planned as a subplan rescanning every entry for every run (5 minutes at 10,000 runs, 1 M entries).
        selected = Q(Exists(entries.filter(chain=OuterRef("thread_id"))))
        if not self.actor:
            # A run with no entries left has no `at` to match a date range: it is selected by its lifetime
            # instead, so that an export states it was pruned (or shows its entries missing) rather than
            # leaving it out unnoticed. Who acted in it is no longer known, so an actor filter cannot.
            gone = Q(ledger_len__gt=0) & ~Exists(LedgerEntry.objects.filter(chain=OuterRef("thread_id")))
            if self.since:
                gone &= Q(finished_at__isnull=True) | Q(finished_at__gte=_moment(self.since))
            if self.until:
                gone &= Q(created_at__lte=_moment(self.until, end=True))
            selected |= gone
        runs = Run.objects.filter(selected)
        if self.workflow:
            runs = runs.filter(workflow=self.workflow)
        return list(runs.order_by("created_at", "id").values_list("thread_id", flat=True))


def export_record(*, scope: ExportScope, fmt: str, actor: str, runs: list[str]) -> None:
    """The export's own ledger entry, written before any byte is sent."""
    system_ledger_append(kind="export", actor=actor, payload={
        "format": fmt, "scope": scope.describe(), "runs": len(runs),
        "entries": LedgerEntry.objects.filter(chain__in=runs).count(),
    })


def _entry_object(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "entry", "run": row["chain"], "seq_run": row["seq_run"], "kind": row["kind"],
        "step": row["step"], "actor": row["actor"], "at": row["at"], "payload": json.loads(row["payload"]),
        "prev": row["prev"], "hash": row["hash"], "gseq": row["gseq"], "redacted": row["redacted"],
    }


_ENTRY_FIELDS = ("gseq", "chain", "seq_run", "kind", "step", "actor", "at", "payload", "prev", "hash", "redacted")


def _selected_entries(runs: list[str], system: list[int] = ()) -> Iterator[dict[str, Any]]:
    """The runs' entries and the system entries with gseq in `system`, in gseq order."""
    # Each chunk of runs is read in gseq order, then merged.
    import heapq

    streams = [
        LedgerEntry.objects.filter(chain__in=chunk).order_by("gseq").values(*_ENTRY_FIELDS).iterator(chunk_size=5000)
        for chunk in chunks(runs)
    ]
    if system:
        streams.append(iter(LedgerEntry.objects.filter(chain=SYSTEM_CHAIN, gseq__in=list(system))
                            .order_by("gseq").values(*_ENTRY_FIELDS)))
    return heapq.merge(*streams, key=lambda row: row["gseq"])


def _seal_line(seal: Seal, runs: set[str]) -> dict[str, Any]:
    line = {"type": "seal", **seal_head(seal).to_dict(), "signature": seal.signature}
    # Only the seals that pin an exported run carry their run heads: that is all the verifier needs,
    # and a seal's heads name every run it covered, which a one-run export has no business listing.
    if not runs.isdisjoint(seal.chains):
        line["chains"] = seal.chains
        line["chains_signature"] = seal.chains_signature
    return line


def _recorded_heads(runs: list[str]) -> dict[str, list[Any]]:
    """{run: [length, head]} as each run's row records its chain (advanced with every entry it writes)."""
    heads: dict[str, list[Any]] = {}
    for chunk in chunks(runs):
        for thread_id, length, head in Run.objects.filter(thread_id__in=chunk).values_list(
                "thread_id", "ledger_len", "ledger_head"):
            heads[thread_id] = [length, head]
    return heads


def _pinned_by(runs: list[str], seals: list[Seal]) -> dict[str, int]:
    """{run: seal_no of the newest seal whose signed run heads (chains) name it}, for the selected runs
    some seal pins. Signed in the manifest because the seals, unlike the run rows, are out of reach of a
    database cut (signed, and copied outside the database): the verifier then requires that seal's heads,
    which hold the run to the length it had when sealed, though the manifest signs a shortened run row."""
    selected = set(runs)
    pinned: dict[str, int] = {}
    for seal in seals:  # seal_no order: the newest seal naming a run is the one left
        pinned |= dict.fromkeys(selected.intersection(seal.chains), seal.seal_no)
    return pinned


def _pruned_records(runs: list[str], seals: list[Seal]) -> dict[str, dict[str, Any]]:
    """{run: what a `pruned` line states} for the selected runs retention pruned: the run's final length
    and head as kept when pruned, the newest seal that signed a head for it, when, the rule, and the
    system entries that recorded the prune (none for a prune retention did not make: it then fails
    offline, naming the run)."""
    kept = {p.chain: p for chunk in chunks(runs) for p in PrunedChain.objects.filter(chain__in=chunk)}
    if not kept:
        return {}
    rows = {r.thread_id: r for chunk in chunks(list(kept))
            for r in Run.objects.filter(thread_id__in=chunk).only("thread_id", "workflow", "finished_at")}
    # The verifier holds each run to the longest head any seal signed for it (the first seal, on a tie).
    sealed_by: dict[str, tuple[int, int]] = {}
    for seal in seals:
        for run in kept.keys() & seal.chains.keys():
            if seal.chains[run][0] > sealed_by.get(run, (0, 0))[0]:
                sealed_by[run] = (seal.chains[run][0], seal.seal_no)
    recorded = retention_prune_records(set(kept))
    records = {}
    for run in runs:
        if run not in kept:
            continue
        pruned, row = kept[run], rows.get(run)
        records[run] = {
            "length": pruned.length, "head": pruned.head,
            "sealed_by": sealed_by[run][1] if run in sealed_by else None,
            "pruned_at": _iso_moment(pruned.pruned_at),
            "finished_at": _iso_moment(row.finished_at) if row and row.finished_at else None,
            "retention": {"workflow": row.workflow if row else None, "days": pruned.retention_days},
            "recorded_by": recorded.get(run, []),
        }
    return records


def _proof_lines(seals: list[Seal], frames: list[Seal], proven: Sequence[int]) -> Iterator[bytes]:
    """A proof line for each gseq in `proven` (ascending), into the seal of `seals` that covers it, one seal's
    tree at a time (`frames`: those seals and the seal before each, whose frontier a tree starts from)."""
    spans: dict[int, tuple[int, int]] = {}  # seal_no -> its slice of `proven`
    at = 0
    for seal in seals:
        end = bisect.bisect_right(proven, seal.last_gseq, lo=at)
        if end > at:
            spans[seal.seal_no] = (at, end)
        at = end
    for seal, loaded in seal_trees(frames, spans):
        # Checked before the export was recorded; rebuilt here from this export's snapshot. Rows changed in
        # between (tampering) leave the seal's entries without proofs, which the header's count and the
        # verifier then show, rather than proofs that would not verify.
        if loaded is None:
            continue
        tree, index = loaded
        start, end = spans[seal.seal_no]
        for gseq in proven[start:end]:
            leaf = index.get(gseq)
            if leaf is None:
                # Sealed by a seal this export does not carry (its rows changed since the seals were chosen):
                # left without a proof, which the verifier reports, rather than a download broken midway.
                continue
            path = tree.inclusion_proof(leaf, seal.tree_size)
            yield canonical_json({"type": "proof", "gseq": gseq, "seal_no": seal.seal_no, "leaf_index": leaf,
                                  "tree_size": seal.tree_size, "path": [p.hex() for p in path]}) + b"\n"


def export_manifest(*, generated_at: str, scope: dict[str, Any], heads: dict[str, list[Any]],
                    pruned: dict[str, dict[str, Any]], pinned_by: dict[str, int], last_seal: int,
                    seals: list[list[int]], sealed_upto: int, private_key: Ed25519PrivateKey) -> dict[str, Any]:
    """The export's last line: what it holds (each run's [length, head], what it states of each pruned
    run, the newest seal that pins each run, and which seals it carries), signed with the ledger key. It
    signs the format version too: the header is not signed, and relabelling an export as an older version
    would skip newer checks."""
    body = {"version": JSONL_VERSION, "generated_at": generated_at, "scope": scope, "runs": heads, "pruned": pruned,
            "pinned_by": pinned_by, "last_seal": last_seal, "seals": seals, "sealed_upto": sealed_upto,
            "key_id": key_id(private_key.public_key())}
    return {"type": "manifest", **body, "signature": sign_document(MANIFEST_CONTEXT, body, private_key)}


def export_jsonl(runs: list[str], *, scope: ExportScope, private_key: Ed25519PrivateKey, history: SealedHistory,
                 progress: Progress | None = None) -> Iterator[bytes]:
    """The JSONL export, one canonical JSON line at a time (header, entries, pruned runs, seals, consistency,
    proofs, manifest). The seals and their checked tree (`history`) were read before the export was
    recorded: sealed history never changes, and entries sealed since are exported as unsealed. The rest
    is read from one snapshot, so the header's counts and the manifest match the lines."""
    seals = history.seals
    with ledger_snapshot():
        # Every exported entry up to it is in a carried seal; entries sealed since the history was read
        # are exported as unsealed.
        last = history.sealed_upto
        pruned = _pruned_records(runs, seals)
        # The system entries that recorded the prunes: exported with their proofs, not as a run (the system
        # chain is exported only in part; the verifier checks each by its hash and proof).
        system = sorted({gseq for record in pruned.values() for gseq in record["recorded_by"]})
        total = LedgerEntry.objects.filter(chain__in=runs).count() + len(system)
        sealed = (LedgerEntry.objects.filter(chain__in=runs, gseq__lte=last).count()
                  + sum(gseq <= last for gseq in system))
        # Signed as Gatehouse records each run, not as found: entries missing from the database then fail
        # offline against the manifest, sealed or not.
        heads = _recorded_heads([run for run in runs if run not in pruned])
        generated_at = utc_now_iso()
        described = {"runs": runs, **({"filter": scope.describe()} if not scope.run else {})}
        header = {
            "type": "header", "format": "gatehouse-ledger-export", "version": JSONL_VERSION,
            "generated_at": generated_at, "scope": described,
            "counts": {"entries": total, "pruned": len(pruned), "seals": len(seals),
                       "consistency": max(0, len(seals) - 1), "proofs": sealed},
        }
        yield canonical_json(header) + b"\n"
        proven = array("q")  # the sealed gseqs exported, in gseq order: 8 bytes each on a large export
        for done, row in enumerate(_selected_entries(runs, system), 1):
            yield canonical_json(_entry_object(row)) + b"\n"
            if row["gseq"] <= last:
                proven.append(row["gseq"])
            if progress and done % 1000 == 0:
                progress(done, total + sealed)  # then a proof for each sealed entry (_proof_lines)
        for run, record in pruned.items():
            yield canonical_json({"type": "pruned", "run": run, **record}) + b"\n"
        selected = set(runs)
        for seal in seals:
            yield canonical_json(_seal_line(seal, selected)) + b"\n"
        for old, new, path in zip(seals, seals[1:], history.consistency, strict=False):
            yield canonical_json({"type": "consistency", "from_seal": old.seal_no, "to_seal": new.seal_no,
                                  "path": [p.hex() for p in path]}) + b"\n"
        for done, line in enumerate(_proof_lines(seals, history.frames, proven), 1):
            yield line
            if progress and done % 1000 == 0:
                progress(total + done, total + sealed)
        manifest = export_manifest(generated_at=generated_at, scope=described, heads=heads, pruned=pruned,
                                   pinned_by=_pinned_by(runs, seals), last_seal=history.last_seal,
                                   seals=seal_ranges([seal.seal_no for seal in seals]), sealed_upto=last,
                                   private_key=private_key)
        yield canonical_json(manifest) + b"\n"
    if progress:
        progress(total + sealed, total + sealed)


def inclusion_proof_document(entry: LedgerEntry) -> dict[str, Any]:
    """Everything needed to check one entry offline: the entry, its proof, the seal that covers it.
    Raises LedgerDamaged when the database's leaves no longer rebuild that seal."""
    seal = Seal.objects.filter(first_gseq__lte=entry.gseq, last_gseq__gte=entry.gseq).first()
    document: dict[str, Any] = {"entry": _entry_object({**{f: getattr(entry, f) for f in _ENTRY_FIELDS
                                                            if f != "chain"}, "chain": entry.chain})}
    if seal is None:
        document["proof"] = None
        document["note"] = "this entry is newer than the last seal; download its proof after the next seal"
        return document
    tree, index = seal_tree_load(seal)
    leaf = index[entry.gseq]
    document["seal"] = {**seal_head(seal).to_dict(), "signature": seal.signature}
    document["proof"] = {"leaf_index": leaf, "tree_size": seal.tree_size,
                         "path": [p.hex() for p in tree.inclusion_proof(leaf, seal.tree_size)]}
    return document


CSV_COLUMNS = ["gseq", "run", "workflow", "seq_run", "kind", "step", "actor", "at", "payload", "prev", "hash",
               "redacted", "sealed_by"]


def export_csv(runs: list[str], *, scope: ExportScope, progress: Progress | None = None) -> Iterator[bytes]:
    """Flat rows for spreadsheets (payload as JSON text). Not verifiable on its own: use JSONL for that."""
    workflows = dict(Run.objects.filter(thread_id__in=runs).values_list("thread_id", "workflow"))
    ranges = SealRanges(list(Seal.objects.order_by("seal_no").only("seal_no", "last_gseq")))
    total = LedgerEntry.objects.filter(chain__in=runs).count()
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> bytes:
        data = buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
        return data

    buffer.write("\ufeff")  # spreadsheets detect UTF-8 by it
    writer.writerow(CSV_COLUMNS)
    yield flush()
    for done, row in enumerate(_selected_entries(runs), 1):
        covering = ranges.covering(row["gseq"])
        sealed_by = covering.seal_no if covering else ""
        # The thread id and the actor are free text (older runs' ids were not checked); the payload
        # is JSON (starts with "{") and the rest is the engine's own vocabulary.
        writer.writerow([row["gseq"], csv_text(row["chain"]), workflows.get(row["chain"], ""), row["seq_run"],
                         row["kind"], "" if row["step"] is None else row["step"], csv_text(row["actor"] or ""), row["at"],
                         row["payload"], row["prev"], row["hash"], "yes" if row["redacted"] else "no", sealed_by])
        if done % 500 == 0:
            yield flush()
            if progress:
                progress(done, total)
    yield flush()
    if progress:
        progress(total, total)


def export_stream(*, scope: ExportScope, fmt: str, actor: str, progress: Progress | None = None,
                  stage: Stage | None = None) -> tuple[list[str], Iterator[bytes]]:
    """Record the export, then return (runs, the byte stream). Raises ExportError on a bad request."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    runs = scope.runs()
    if not runs:
        raise ExportError(f"no runs match ({scope.label()}): widen the dates or clear a filter")
    if fmt == "jsonl":
        # Loaded before the export is recorded: a missing key, or a ledger no proof can be computed from
        # (LedgerDamaged), fails the request, not the download midway.
        try:
            private_key = ledger_signing_key()
        except LedgerKeyError as exc:
            raise ExportError(f"{exc}. A JSONL export is signed with the ledger key, so nothing was exported; "
                              "CSV and PDF exports need no key") from None
        # Everything: every seal is rebuilt anyway, without first listing which seals its entries are in.
        history = sealed_history_load(None if scope.everything() else runs)
        export_record(scope=scope, fmt=fmt, actor=actor, runs=runs)
        return runs, export_jsonl(runs, scope=scope, private_key=private_key, history=history, progress=progress)
    export_record(scope=scope, fmt=fmt, actor=actor, runs=runs)
    if fmt == "csv":
        return runs, export_csv(runs, scope=scope, progress=progress)
    from audit.report_pdf import export_pdf

    return runs, export_pdf(runs, scope=scope, progress=progress, stage=stage)


def export_filename(scope: ExportScope, fmt: str, *, today: date | None = None) -> str:
    """`ledger-<scope>-<date>.<ext>`, e.g. `ledger-email_approval-by-alice-2025-06-01.csv`: what
    was exported (the run; else the workflow, the actor and the date range asked for; `all-runs`
    when nothing narrows it) and the day it was exported (UTC)."""
    if scope.run:
        parts = [filename_part(scope.run, "run")]
    else:
        parts = []
        if scope.workflow:
            parts.append(filename_part(scope.workflow, "workflow"))
        if scope.actor:
            parts.append("by-" + filename_part(scope.actor, "user"))
        if scope.since and scope.until:
            parts.append(f"{scope.since.isoformat()}_to_{scope.until.isoformat()}")
        elif scope.since or scope.until:
            parts.append(f"from-{scope.since.isoformat()}" if scope.since else f"to-{scope.until.isoformat()}")
    return download_filename("ledger", parts, fmt, scope_if_empty="all-runs", today=today)
