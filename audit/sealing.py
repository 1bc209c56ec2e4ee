"""Sealing: extend the ledger's one Merkle tree with the newest finished entries and sign its head.

Why a "cut" and a wait: gseq values are handed out when a row is inserted, not when its transaction
commits, so a slow writer can commit gseq 41 after gseq 42 is visible. A seal must never cover a
range into which a late row could still land (the export format requires seal ranges in gseq order
with no late arrivals). So `ledger_seal()`:

1. reads the cut: S = the sequence's last value handed out, then X = the xmax of a fresh snapshot.
   Every writer that took a gseq <= S already had its xid (writers lock their run or chain head
   row, which assigns the xid, before inserting), so its xid < X;
2. waits until the snapshot's xmin >= X: every transaction older than the horizon has finished, so
   every entry with gseq <= S is committed or rolled back for good;
3. under an advisory lock (two sealers never race), takes the entries with
   previous last_gseq < gseq <= S in gseq order, extends the tree from the previous seal's stored
   frontier (no old leaf is read again), signs the head (size, root, time, previous head) and the
   per-chain heads it covers, and stores the seal;
4. after commit, writes a copy outside the database: one JSON file per seal in GATEHOUSE_SEAL_DIR,
   and, with GATEHOUSE_SEAL_WEBHOOK_URL set, a POST queued in the seal's own transaction in the
   notification outbox (orchestrator.deliveries: retried until the receiver has it, under one
   event_id, so a receiver that was down still gets every seal). Every seal pass (`seal_pass`: `audit seal`, and each
   round of `audit seal --loop`) writes the copies still missing, of earlier seals too, so a seal
   directory that could not be written is healed by the first pass after it is fixed, new entries or
   not; while it cannot be written, each pass says so in one line (SealCopyError).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.db import connection, transaction

from audit.canonical import canonical_json
from audit.chain import GENESIS
from audit.ledger import utc_now_iso
from audit.merkle import EMPTY_ROOT, FrontierTree, leaf_hash, node_hash
from audit.models import LedgerEntry, Seal
from audit.offline_verifier import plural
from audit.signing import (
    TreeHead,
    current_public_key,
    head_hash,
    key_id,
    load_signing_key,
    sign_document,
    sign_head,
    verify_document,
)
from orchestrator.deliveries import Event, deliveries_queue, deliveries_send

log = logging.getLogger("gatehouse.ledger")

SEAL_SOURCE = "seal"  # the outbox source of seal copies posted to GATEHOUSE_SEAL_WEBHOOK_URL

# The per-chain heads a seal covers are signed with their own context: never confusable with a head.
CHAINS_CONTEXT = b"gatehouse-sealed-chains-v1\n"


class SealPending(RuntimeError):
    """Older transactions are still running; nothing can be sealed safely yet."""


class SealRefused(RuntimeError):
    """The newest seal's stored tree was altered in the database: sealing would sign a wrong continuation."""


class SealCopyError(RuntimeError):
    """The seal directory cannot be written: the seals are in the database, their copies outside it are not.
    The message is one line naming the directory and what to do."""


# --- the growing tree ---------------------------------------------------------------------------------
@dataclass
class Frontier:
    """The roots of the complete subtrees along the right edge of an RFC 6962 tree, largest first.

    Enough to append leaves and compute the root of the whole tree: log2(size) hashes.
    """

    size: int
    nodes: list[tuple[int, bytes]]  # (subtree size, root)

    @classmethod
    def load(cls, size: int, stored: list[list[Any]]) -> Frontier:
        return cls(size, [(int(n), bytes.fromhex(h)) for n, h in stored])

    def dump(self) -> list[list[Any]]:
        return [[n, h.hex()] for n, h in self.nodes]

    def append(self, leaf: bytes) -> None:
        self.nodes.append((1, leaf_hash(leaf)))
        while len(self.nodes) > 1 and self.nodes[-1][0] == self.nodes[-2][0]:
            (n, right), (_, left) = self.nodes.pop(), self.nodes.pop()
            self.nodes.append((2 * n, node_hash(left, right)))
        self.size += 1

    def root(self) -> bytes:
        if not self.nodes:
            return EMPTY_ROOT
        root = self.nodes[-1][1]
        for _, left in reversed(self.nodes[:-1]):
            root = node_hash(left, root)
        return root


def seal_frontier(seal: Seal | None) -> Frontier | None:
    """The stored frontier of `seal` (the empty tree's for None), or None when it is not that seal's tree.

    The frontier is not signed; the root is. Whatever extends or proves from a seal's tree trusts its
    frontier, so it is checked first: one subtree per set bit of the signed tree size, largest first,
    folding into the signed root. A frontier edited in the database (say the real frontier of a
    larger tree, with the leaves in between deleted) would otherwise pass off a cut ledger as intact."""
    if seal is None:
        return Frontier(0, [])
    try:
        frontier = Frontier.load(seal.tree_size, seal.frontier)
        sizes = [size for size, _root in frontier.nodes]
        expected = [1 << bit for bit in reversed(range(seal.tree_size.bit_length())) if seal.tree_size >> bit & 1]
        if sizes == expected and frontier.root().hex() == seal.root:
            return frontier
    except (TypeError, ValueError, AttributeError):  # not a list of [size, hex] pairs
        pass
    return None


# --- the cut ------------------------------------------------------------------------------------------
def _sequence_last_value() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence('audit_ledgerentry', 'gseq')")
        (name,) = cursor.fetchone()
        cursor.execute(f"SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {name}")  # noqa: S608
        return int(cursor.fetchone()[0])


def _snapshot() -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint,"
            " pg_snapshot_xmax(pg_current_snapshot())::text::bigint"
        )
        xmin, xmax = cursor.fetchone()
        return int(xmin), int(xmax)


def _wait_for_horizon(xmax: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while True:
        xmin, _ = _snapshot()
        if xmin >= xmax:
            return xmin
        if time.monotonic() > deadline:
            raise SealPending(
                f"transaction {xmin} (older than the cut, xid < {xmax}) is still running; "
                "its ledger entries may not be visible yet, so sealing waits for it"
            )
        time.sleep(0.02)


# --- signing the covered chains ---------------------------------------------------------------------------
def sign_chains(head_digest: str, chains: dict[str, list[Any]], private_key: Any) -> str:
    return sign_document(CHAINS_CONTEXT, {"head": head_digest, "chains": chains}, private_key)


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


def seal_head(seal: Seal) -> TreeHead:
    return TreeHead(
        seal_no=seal.seal_no, tree_size=seal.tree_size, root=seal.root, first_gseq=seal.first_gseq,
        last_gseq=seal.last_gseq, sealed_at=seal.sealed_at, prev_head=seal.prev_head, key_id=seal.key_id,
    )


def seal_document(seal: Seal) -> dict[str, Any]:
    """The external copy of a seal: the signed head (as an export's seal line) and its chains."""
    return {
        "seal": {**seal_head(seal).to_dict(), "signature": seal.signature},
        "xid_horizon": seal.xid_horizon,
        "chains": seal.chains,
        "chains_signature": seal.chains_signature,
    }


# --- sealing ----------------------------------------------------------------------------------------------
def ledger_seal(*, wait_seconds: float = 10.0, max_entries: int | None = None, publish: bool = True) -> Seal | None:
    """Seal every finished entry not yet sealed; None when there is nothing new. See the module doc.
    `publish`: then write the copies outside the database (seals_publish; SealCopyError if it cannot)."""
    if connection.in_atomic_block:
        raise RuntimeError("ledger_seal() must run outside a transaction: it waits for older ones to end")
    cut = _sequence_last_value()
    _, cut_xmax = _snapshot()
    horizon = _wait_for_horizon(cut_xmax, wait_seconds)
    private_key = ledger_signing_key()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('gatehouse:ledger:seal'))")
        previous = Seal.objects.order_by("-seal_no").first()
        after = previous.last_gseq if previous else 0
        rows = LedgerEntry.objects.filter(gseq__gt=after, gseq__lte=cut).order_by("gseq")
        if max_entries:
            rows = rows[:max_entries]
        frontier = seal_frontier(previous)
        if frontier is None:
            # Extending it would sign a tree that is not the sealed one's continuation.
            raise SealRefused(f"seal {previous.seal_no}'s stored frontier does not fold into its signed root: it was "
                            "altered in the database. Run `manage.py audit verify`; nothing was sealed")
        known, known_size = list(frontier.nodes), frontier.size
        chains: dict[str, list[Any]] = {}
        leaves: list[bytes] = []
        first = last = None
        for gseq, chain, seq_run, digest in rows.values_list("gseq", "chain", "seq_run", "hash").iterator(
            chunk_size=5000
        ):
            leaves.append(bytes.fromhex(digest))
            frontier.append(leaves[-1])
            first = gseq if first is None else first
            last = gseq
            if seq_run > chains.get(chain, [0])[0]:
                chains[chain] = [seq_run, digest]
        if last is None:
            return None
        head = TreeHead(
            seal_no=(previous.seal_no + 1) if previous else 1,
            tree_size=frontier.size,
            root=frontier.root().hex(),
            first_gseq=first,
            last_gseq=last,
            sealed_at=utc_now_iso(),
            prev_head=head_hash(seal_head(previous)) if previous else GENESIS,
            key_id=key_id(private_key.public_key()),
        )
        digest = head_hash(head)
        seal = Seal.objects.create(
            seal_no=head.seal_no, tree_size=head.tree_size, root=head.root, first_gseq=first,
            last_gseq=last, xid_horizon=horizon, sealed_at=head.sealed_at, prev_head=head.prev_head,
            key_id=head.key_id, signature=sign_head(head, private_key), head_hash=digest,
            frontier=frontier.dump(), chains=chains,
            chains_signature=sign_chains(digest, chains, private_key),
            consistency=[node.hex() for node in FrontierTree(known, leaves).consistency_proof(known_size)]
            if previous else None,
        )
        if settings.GATEHOUSE_SEAL_WEBHOOK_URL:  # queued with the seal, so no seal is made without its POST
            deliveries_queue([Event(source=SEAL_SOURCE, ref=seal.seal_no,
                                    webhook={"event": "ledger.seal", **seal_document(seal)})])
    if publish:
        seals_publish()
    return seal


def ledger_signing_key() -> Ed25519PrivateKey:
    """The key seals and export manifests are signed with (audit/signing.py says where it comes from)."""
    return load_signing_key(allow_generate=dev_key_allowed())


def ledger_public_key() -> Ed25519PublicKey | None:
    """The public half of the key seals are signed with, by the sealer's rule: in development the key is
    made on first use (as the first seal would make it); in a deployment None when none is configured.
    Every command that names "the current key" (public-key, public-key --all, archive-key) asks this."""
    if dev_key_allowed():
        return ledger_signing_key().public_key()
    return current_public_key()


def dev_key_allowed() -> bool:
    """Development and tests may generate a key under the data dir; a deployment (DEBUG=0) must
    configure one, or each host that seals would sign with a key no auditor has seen."""
    return settings.GATEHOUSE_DEV_MODE and not settings.GATEHOUSE_LEDGER_KEY_REQUIRED


# --- copies outside the database ----------------------------------------------------------------------------
def seal_dir() -> Path:
    return Path(settings.GATEHOUSE_SEAL_DIR)


def seal_path(seal_no: int) -> Path:
    return seal_dir() / f"seal-{seal_no:08d}.json"


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def _copy_error(directory: Path, exc: OSError, missing: int) -> SealCopyError:
    if directory.exists() and not directory.is_dir():
        why = "it is a file, not a directory"
    elif exc.filename and Path(exc.filename) != directory and not Path(exc.filename).parent.is_dir():
        why = f"{exc.strerror or exc} ({exc.filename})"
    else:
        why = exc.strerror or str(exc)
    why = why[:1].lower() + why[1:]  # "Permission denied" in the middle of a sentence
    return SealCopyError(
        f"cannot write seal copies to {directory} (GATEHOUSE_SEAL_DIR): {why}. The seals are kept in the database "
        f"but {plural(missing, 'seal has', 'seals have')} no copy outside it: make that path a directory this "
        "process can write, or set GATEHOUSE_SEAL_DIR to one; the next seal pass writes every missing copy")


def seals_publish() -> int:
    """Write the external copy of every seal that has none yet (directory) and post the webhook copies due;
    returns how many files were written. Raises SealCopyError, one line, when the directory cannot be
    written (after posting: the webhook copies do not wait for the directory)."""
    try:
        return _seal_files_write()
    finally:
        deliveries_send(source=SEAL_SOURCE)


def seal_webhook_url() -> str:
    return settings.GATEHOUSE_SEAL_WEBHOOK_URL


def _seal_files_write() -> int:
    directory = seal_dir()
    have = {p.name for p in directory.glob("seal-*.json")} if directory.is_dir() else set()
    missing = [no for no in Seal.objects.order_by("seal_no").values_list("seal_no", flat=True).iterator()
               if seal_path(no).name not in have]
    if not missing:
        return 0
    written = 0
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for start in range(0, len(missing), 500):
            for seal in Seal.objects.filter(seal_no__in=missing[start:start + 500]).order_by("seal_no"):
                document = canonical_json(seal_document(seal))
                _write_atomically(seal_path(seal.seal_no), document + b"\n")
                written += 1
    except OSError as exc:
        raise _copy_error(directory, exc, len(missing) - written) from None
    return written


def external_seals() -> dict[int, tuple[Path, dict[str, Any]]]:
    """{seal_no: (path, document)} for every copy in the seal directory."""
    found: dict[int, tuple[Path, dict[str, Any]]] = {}
    directory = seal_dir()
    for path in sorted(directory.glob("seal-*.json")) if directory.is_dir() else []:
        with contextlib.suppress(ValueError, OSError, KeyError, TypeError):
            document = json.loads(path.read_bytes())
            found[int(document["seal"]["seal_no"])] = (path, document)
    return found


# --- the loop --------------------------------------------------------------------------------------------------
def seals_catch_up(*, wait_seconds: float = 10.0, max_entries: int | None = None,
                   publish: bool = True) -> list[Seal]:
    """Seal every finished entry not yet sealed, at most `max_entries` (GATEHOUSE_SEAL_MAX_ENTRIES) a seal:
    sealing holds a seal's range in memory, so a backlog (a first seal, a sealer that was down) takes
    several seals. Stops after a seal that was not full, so writers that never pause cannot keep it going.
    `publish`: write the copies outside the database after each seal (seal_pass writes them once, after)."""
    limit = max_entries or settings.GATEHOUSE_SEAL_MAX_ENTRIES
    size = Seal.objects.order_by("-seal_no").values_list("tree_size", flat=True).first() or 0
    made: list[Seal] = []
    while (seal := ledger_seal(wait_seconds=wait_seconds, max_entries=limit, publish=publish)) is not None:
        made.append(seal)
        if seal.tree_size - size < limit:
            break
        size = seal.tree_size
    return made


@dataclass
class SealPass:
    """What one round of sealing did: the seals it made, the copies it wrote (of earlier seals too), and the
    one-line reasons it stopped short (older transactions still running; a seal directory it cannot write)."""

    made: list[Seal]
    copies: int = 0
    pending: str = ""
    copy_error: str = ""

    @property
    def earlier_copies(self) -> int:
        """Copies written of seals made before this pass (the directory had been unwritable)."""
        return self.copies - len(self.made)


def seal_pass(*, wait_seconds: float = 10.0, max_entries: int | None = None) -> SealPass:
    """Seal what is due (seals_catch_up), then write every missing copy outside the database, whether or not
    anything was sealed: a seal directory fixed since the last pass is filled in now, not at the next seal.
    SealRefused (an altered frontier) is raised: nothing can be sealed until it is looked into."""
    result = SealPass(made=[])
    try:
        result.made = seals_catch_up(wait_seconds=wait_seconds, max_entries=max_entries, publish=False)
    except SealPending as exc:
        result.pending = str(exc)
    try:
        result.copies = seals_publish()
    except SealCopyError as exc:
        result.copy_error = str(exc)
    return result


def seal_summary(seal: Seal) -> str:
    """The line `audit seal` prints for a seal it made, looping or not."""
    return (f"sealed {seal.seal_no}: {seal.tree_size:,} entries in the tree, this seal adds gseq "
            f"{seal.first_gseq}-{seal.last_gseq}; root {seal.root[:16]}… key {seal.key_id}")


def seal_loop(*, interval: float, stdout: Any = None) -> int:
    """Seal every `interval` seconds until SIGTERM/SIGINT, finishing the seal in progress; returns the
    signal that stopped it. Safe to run twice (the advisory lock)."""
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))
    signal.signal(signal.SIGINT, lambda signum, frame: stopping.append(signum))
    if stdout is not None:  # once Ctrl-C finishes the seal in progress rather than interrupting it
        stdout.write(f"sealing every {interval:g}s until SIGTERM or Ctrl-C\n")
    while not stopping:
        try:
            done = seal_pass(wait_seconds=min(interval, 30))
            for seal in done.made:
                if stdout is not None:
                    stdout.write(seal_summary(seal) + "\n")
            if done.pending:
                log.info("%s", done.pending)
            if done.copy_error:  # one line a pass until it is fixed; the pass after that writes the copies
                log.warning("%s", done.copy_error)
            elif done.earlier_copies and stdout is not None:
                stdout.write(f"wrote {plural(done.earlier_copies, 'missing seal copy', 'missing seal copies')}"
                             f" to {seal_dir()}\n")
        except BrokenPipeError:  # the reader of `stdout` went away (`| head`): no failure to retry, the end
            raise
        except SealRefused as exc:  # the same each pass until someone looks: one line, not a traceback
            log.error("not sealed: %s", exc)
        except Exception:  # keep sealing after a transient database error
            log.exception("sealing failed; retrying in %ss", interval)
            connection.close()
        deadline = time.monotonic() + interval
        while not stopping and time.monotonic() < deadline:
            time.sleep(0.2)
    return stopping[0]
