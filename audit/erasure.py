"""Erasure: remove a customer's personal data and keep every proof.

The ledger never held the data, only (salted) digests of it, so:
1. checkpoint state values (deltas and snapshots) become the marker {"$erased": true}, the decision
   checkpoints' reasons and responses are cleared, journal request/result texts, review item texts,
   decisions and notifications, run labels' values and error messages are replaced; blobs only these runs
   reference are deleted; the unsalted digests kept beside them for the engine's own use (a
   checkpoint's state hash, a journal row's request hash) are cleared too;
2. the runs' ledger entries are marked redacted: an UPDATE of that one column, the only change the
   ledger trigger accepts under `gatehouse.erasure = 'on'`; hashes, and so verification, are untouched;
3. each run gets a fresh ledger salt: with the old one gone, nobody holding a guess (an email
   address) can confirm it against the remaining digests. Later entries are still salted;
4. the erasure itself is appended to each run's chain and to the system chain, with the admin's name.

Only finished runs can be erased (cancel a live one first), and only by an admin.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from django.core.files.storage import default_storage
from django.db import connection, transaction

from audit.models import LedgerEntry
from audit.selectors_ledger import ERASED_KIND
from audit.services import ledger_append, system_ledger_append
from orchestrator.blobs import BLOB_KEY, _path, blob_get, is_blob_sha
from orchestrator.deliveries import deliveries_erase
from orchestrator.models import TERMINAL_STATUSES, Blob, Checkpoint, JournalEntry, Run
from orchestrator.roles import ADMIN, user_has_role
from orchestrator.services import no_run_message
from orchestrator.spend_rollup import spend_rollup_lock
from orchestrator.state import dumps, loads
from review.models import ReviewDecision, ReviewItem
from review.notifications import SOURCE as REVIEW_SOURCE

ERASED: dict[str, Any] = {"$erased": True}
ERASED_TEXT = "[erased]"


class ErasureError(ValueError):
    """The erasure was refused; the message says why and what to do."""


@dataclass(frozen=True)
class ErasureResult:
    runs: list[str]
    checkpoints: int
    journal: int
    review_items: int
    blobs: int
    entries_redacted: int
    already_erased: list[str] = field(default_factory=list)  # selected, but erased before: left as they were


def _blob_refs(value: Any, found: set[str]) -> None:
    if isinstance(value, dict):
        if is_blob_sha(value.get(BLOB_KEY)):  # no other text names a blob's file
            found.add(value[BLOB_KEY])
        for item in value.values():
            _blob_refs(item, found)
    elif isinstance(value, list):
        for item in value:
            _blob_refs(item, found)


def _erase_delta(text: str, blobs: set[str]) -> str:
    delta = loads(text) or {}
    _blob_refs(delta, blobs)
    return dumps({
        "set": dict.fromkeys(delta.get("set", {}), ERASED),
        "append": {key: [ERASED] * len(items) for key, items in delta.get("append", {}).items()},
    })


def _erase_snapshot(text: str | None, blobs: set[str]) -> str | None:
    if text is None:
        return None
    state = loads(text) or {}
    _blob_refs(state, blobs)
    return dumps(dict.fromkeys(state, ERASED))


def _selected_runs(*, label: tuple[str, str] | None, run: str | None) -> list[Run]:
    """The runs to erase and every fork of them, locked (FOR UPDATE), as they are once locked.

    Chosen under the locks, inside the erasure's transaction: a retry (which makes a run live again), a
    fork (a copy of the state) or another erasure may commit while this waits for a run, and what it
    read before that is no longer so. A fork locks its parent, so once a run is locked no new fork of it
    can appear: locking each level before reading the next finds every fork there is."""
    if label is not None and run is not None:
        raise ErasureError("name what to erase by --label KEY=VALUE or by --run THREAD_ID: one, not both")
    if label is None and run is None:
        raise ErasureError("name what to erase: --label KEY=VALUE or --run THREAD_ID")
    if run is not None:
        roots = list(Run.objects.select_for_update().filter(thread_id=run))
        if not roots:
            raise ErasureError(no_run_message(run))
    else:
        key, value = label
        roots = list(Run.objects.select_for_update().filter(labels__contains={key: value}).order_by("pk"))
        if not roots:
            raise ErasureError(f"no run is labelled {key}={value}: check the label (labels are case-sensitive)")
    # Forks start from a copy of their parent's state: they hold the same data.
    selected = {r.pk: r for r in roots}
    frontier = [r.pk for r in roots]
    while frontier:
        children = list(Run.objects.select_for_update().filter(parent_id__in=frontier).exclude(pk__in=selected)
                        .order_by("pk"))
        selected.update({c.pk: c for c in children})
        frontier = [c.pk for c in children]
    live = [r.thread_id for r in selected.values() if r.status not in TERMINAL_STATUSES]
    if live:
        raise ErasureError(f"run{'s' if len(live) > 1 else ''} {', '.join(sorted(live))} "
                           "still running or waiting: cancel first, then erase")
    return sorted(selected.values(), key=lambda r: r.pk)


def audit_erase(*, actor: Any, label: tuple[str, str] | None = None, run: str | None = None) -> ErasureResult:
    """Erase the personal data of the runs labelled `label` (or run `run`) and their forks."""
    if not user_has_role(actor, ADMIN):
        raise ErasureError(f"{actor.get_username()!r} is not an admin: erasure needs the admin role")
    blobs: set[str] = set()
    with transaction.atomic():
        selected = _selected_runs(label=label, run=run)
        # A run erased before holds nothing personal any more: erasing it again would only add ledger entries
        # claiming a second erasure (and count its already-erased rows as erased now). Read under the locks:
        # an erasure of the same run that committed while this one waited counts.
        erased = set(LedgerEntry.objects.filter(chain__in=[r.thread_id for r in selected], kind=ERASED_KIND)
                     .values_list("chain", flat=True).distinct())
        runs = [r for r in selected if r.thread_id not in erased]
        already = sorted(erased)
        if not runs:
            return ErasureResult(runs=[], checkpoints=0, journal=0, review_items=0, blobs=0, entries_redacted=0,
                                 already_erased=already)
        ids = [r.pk for r in runs]
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL gatehouse.erasure = 'on'")
        checkpoints = 0
        for cp in Checkpoint.objects.filter(run_id__in=ids).only("id", "delta", "snapshot", "meta", "source"):
            meta = loads(cp.meta) or {}
            for key in ("reason", "response", "edits"):
                if meta.get(key):
                    meta[key] = ERASED_TEXT
            # The state hash goes too: it is an unsalted digest of the erased values.
            Checkpoint.objects.filter(pk=cp.pk).update(
                delta=_erase_delta(cp.delta, blobs), snapshot=_erase_snapshot(cp.snapshot, blobs), meta=dumps(meta),
                state_hash="")
            checkpoints += 1
        journal = 0
        for row in JournalEntry.objects.filter(run_id__in=ids).only("id", "request", "result"):
            _blob_refs(loads(row.request), blobs)
            _blob_refs(loads(row.result), blobs)
            # request_hash is an unsalted digest of the request (a prompt, an effect's arguments).
            journal += JournalEntry.objects.filter(pk=row.pk).update(request=dumps(ERASED), result=dumps(ERASED),
                                                                     request_hash="")
        items = ReviewItem.objects.filter(run_id__in=ids).update(
            request=dumps({"description": ERASED_TEXT, "args": {}, "erased": True}), summary=ERASED_TEXT,
            reason="", response="", edits=None)
        ReviewDecision.objects.filter(item__run_id__in=ids).update(reason="", response="", edits=None)
        # The items' notifications carried their texts (the e-mail's body, the webhook's summary).
        deliveries_erase(source=REVIEW_SOURCE, refs=ReviewItem.objects.filter(run_id__in=ids).values("pk"))
        # Every call's spend row carries a copy of the run's labels, which the chargeback CSV and the costs
        # chart group by: without this an erased customer's label value stayed on the cost pages. Keys are
        # kept, as on the run, so the spend is still counted (under the marker). The daily roll-up's sums
        # by run carry the same copy: rewritten too, under the roll-up's lock, so that a day being rolled
        # up meanwhile is either rewritten here or summed from the rewritten rows.
        spend_rollup_lock()
        with connection.cursor() as cursor:
            for table in ("orchestrator_spendevent", "orchestrator_spendrundaily"):
                cursor.execute(
                    f"UPDATE {table} SET labels = (SELECT jsonb_object_agg(k, to_jsonb(%s::text))"  # noqa: S608
                    " FROM jsonb_object_keys(labels) AS k) WHERE run_id = ANY(%s) AND labels <> '{}'::jsonb",
                    [ERASED_TEXT, ids])
        redacted = LedgerEntry.objects.filter(chain__in=[r.thread_id for r in runs], redacted=False).update(
            redacted=True)
        for r in runs:
            error = dict(r.error or {})
            if error.get("message"):
                error["message"] = ERASED_TEXT
            Run.objects.filter(pk=r.pk).update(
                labels=dict.fromkeys(r.labels or {}, ERASED_TEXT), error=error or None,
                ledger_salt=secrets.token_hex(16))
            ledger_append(run=r, kind=ERASED_KIND, step=r.step, actor=actor.get_username(),
                          payload={"checkpoints": True, "journal": True, "review": True, "blobs": True})
            Run.objects.filter(pk=r.pk).update(ledger_len=r.ledger_len, ledger_head=r.ledger_head)
        deleted = _delete_unshared_blobs(blobs, ids)
        # Last: from here every system chain writer waits for this transaction.
        system_ledger_append(kind="erasure", actor=actor.get_username(), payload={
            "runs": [r.thread_id for r in runs], "selector": "label" if label else "run",
            "label_key": label[0] if label else "", "entries_redacted": redacted,
        })
    return ErasureResult(runs=[r.thread_id for r in runs], checkpoints=checkpoints, journal=journal,
                         review_items=items, blobs=deleted, entries_redacted=redacted, already_erased=already)


def _delete_unshared_blobs(shas: set[str], run_ids: list[int]) -> int:
    """Blobs are stored once for every run that wrote the same bytes: keep those another run uses.
    Files go after commit, so a rolled-back erasure loses nothing."""
    deleted = 0
    for sha in sorted(shas):
        others = (Checkpoint.objects.exclude(run_id__in=run_ids).filter(delta__contains=sha).exists()
                  or Checkpoint.objects.exclude(run_id__in=run_ids).filter(snapshot__contains=sha).exists()
                  or JournalEntry.objects.exclude(run_id__in=run_ids).filter(result__contains=sha).exists()
                  or JournalEntry.objects.exclude(run_id__in=run_ids).filter(request__contains=sha).exists()
                  or ReviewItem.objects.exclude(run_id__in=run_ids).filter(request__contains=sha).exists())
        if others:
            continue
        # Only a file the store itself wrote (it has a row): a pointer is state, which a model's
        # output or a person's input can shape; the file store is not theirs to name files in.
        rows, _by_model = Blob.objects.filter(sha256=sha).delete()
        if not rows:
            continue
        path = _path(sha)
        transaction.on_commit(lambda path=path: _delete_file(path))
        deleted += 1
    return deleted


def _delete_file(path: str) -> None:
    if default_storage.exists(path):
        default_storage.delete(path)
    blob_get.cache_clear()
