"""Retention: finished runs are pruned once older than their workflow's retention period.

Default 400 days (GATEHOUSE_RETENTION_DAYS); a per-workflow RetentionPolicy may shorten it, but
never below 183 days (six months) without an explicit override. Pruning:
1. only touches runs whose every ledger entry is already sealed (what is pruned stays provable);
2. keeps each entry's Merkle leaf (gseq, hash) in PrunedLeaf and the chain's length/head (which a
   seal signed), when and under which retention period in PrunedChain, so every seal still
   recomputes, inclusion proofs can still be produced, and an export can state the run was pruned;
3. deletes the runs' ledger entries, checkpoints, journal, review items/decisions and unshared
   blobs inside `gatehouse.erasure` + `gatehouse.prune`; the run row stays as a stub;
4. is recorded in the system chain, with the retention period applied to each workflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.erasure import _delete_unshared_blobs
from audit.models import LedgerEntry, PrunedChain, PrunedLeaf, RetentionPolicy, Seal
from audit.sealing import RETENTION_MINIMUM_DAYS
from audit.services import system_chain_lock, system_ledger_append
from orchestrator.deliveries import deliveries_forget
from orchestrator.models import TERMINAL_STATUSES, Checkpoint, JournalEntry, Run
from orchestrator.registry import UnknownWorkflow
from orchestrator.selectors import workflow_known
from orchestrator.state import loads
from review.models import ReviewDecision, ReviewItem
from review.notifications import SOURCE as REVIEW_SOURCE

# 100 years, as for an API token's lifetime: more is a typo, and a cutoff further back than datetime's
# year 1 cannot even be computed (prune failed with OverflowError on every run after such a setting).
MAXIMUM_DAYS = 36_500


class RetentionError(ValueError):
    pass


def retention_set(*, workflow: str, days: int, allow_below_minimum: bool = False,
                  actor: str | None = None) -> RetentionPolicy:
    """Set how long `workflow`'s finished runs are kept; the change is recorded in the system chain
    (how long evidence is kept is a setting an auditor must be able to trace)."""
    if not 1 <= days <= MAXIMUM_DAYS:
        raise RetentionError(f"retention is a number of days from 1 to {MAXIMUM_DAYS} (100 years), not {days}")
    if days < RETENTION_MINIMUM_DAYS and not allow_below_minimum:
        raise RetentionError(f"{days} days is below the {RETENTION_MINIMUM_DAYS}-day minimum (six months); if a regulation "
                             "really requires less, pass --allow-below-minimum (the change is recorded as below "
                             "the minimum)")
    try:
        # A policy for a name no run has and no module registers would apply to nothing, silently.
        workflow_known(workflow)
    except UnknownWorkflow as exc:
        raise RetentionError(str(exc)) from None
    with transaction.atomic():
        system_chain_lock()  # before reading what this replaces: concurrent changes record in order
        previous = retention_days(workflow)
        policy, _ = RetentionPolicy.objects.update_or_create(
            workflow=workflow, defaults={"days": days, "below_minimum": days < RETENTION_MINIMUM_DAYS})
        if previous != days:
            system_ledger_append(kind="retention_changed", actor=actor or None, payload={
                "workflow": workflow, "days": days, "previous_days": previous,
                "below_minimum": days < RETENTION_MINIMUM_DAYS})
    return policy


def retention_days(workflow: str) -> int:
    policy = RetentionPolicy.objects.filter(workflow=workflow).first()
    return policy.days if policy else settings.GATEHOUSE_RETENTION_DAYS


@dataclass
class PrunePlan:
    due: list[str] = field(default_factory=list)  # thread ids pruned (or that would be, in a dry run)
    waiting: dict[str, str] = field(default_factory=dict)  # thread id -> why not yet
    entries: int = 0
    checkpoints: int = 0
    rules: dict[str, int] = field(default_factory=dict)  # workflow -> retention days applied to its due runs


def _plan(now: datetime, among: list[int] | None = None) -> tuple[PrunePlan, list[Run]]:
    """What is due at `now` (of the runs `among`, when given), and what waits and why."""
    plan = PrunePlan()
    sealed_upto = Seal.objects.order_by("-seal_no").values_list("last_gseq", flat=True).first() or 0
    pruned = PrunedChain.objects.values("chain")
    runs = []
    workflows = Run.objects.filter(status__in=TERMINAL_STATUSES).values_list("workflow", flat=True).distinct()
    for workflow in sorted(set(workflows)):
        days = retention_days(workflow)
        try:
            cutoff = now - timedelta(days=days)
        except OverflowError:  # a period set before MAXIMUM_DAYS, reaching past year 1: nothing is that old
            continue
        candidates = Run.objects.filter(workflow=workflow, status__in=TERMINAL_STATUSES, finished_at__lt=cutoff)
        if among is not None:
            candidates = candidates.filter(pk__in=among)
        for run in candidates.exclude(thread_id__in=pruned).order_by("finished_at"):
            if LedgerEntry.objects.filter(chain=run.thread_id, gseq__gt=sealed_upto).exists():
                plan.waiting[run.thread_id] = "some entries are not sealed yet"
                continue
            if Run.objects.filter(parent=run).exclude(thread_id__in=pruned).exclude(
                    finished_at__lt=cutoff).exists():
                plan.waiting[run.thread_id] = "a newer fork still needs its history"
                continue
            plan.due.append(run.thread_id)
            plan.rules[workflow] = days
            runs.append(run)
    return plan, runs


def _counted(plan: PrunePlan, runs: list[Run]) -> PrunePlan:
    plan.entries = LedgerEntry.objects.filter(chain__in=[r.thread_id for r in runs]).count()
    plan.checkpoints = Checkpoint.objects.filter(run_id__in=[r.pk for r in runs]).count()
    return plan


def retention_prune(*, dry_run: bool, actor: str = "", now: datetime | None = None) -> PrunePlan:
    at = now or timezone.now()
    plan, runs = _plan(at)
    if dry_run or not runs:
        return _counted(plan, runs)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL gatehouse.erasure = 'on'")
            cursor.execute("SET LOCAL gatehouse.prune = 'on'")
        list(Run.objects.select_for_update().filter(pk__in=[r.pk for r in runs]).order_by("pk").values_list("pk"))
        # Planned again under the locks: a retry (the run is live again), a fork (its parent's history is
        # needed) or a step may have committed while this waited for them. Locked, they stay as planned:
        # each of those locks the run (a fork its parent) before it writes.
        replanned, locked = _plan(at, among=[r.pk for r in runs])
        replanned.waiting = {**plan.waiting, **replanned.waiting}
        plan = _counted(replanned, locked)
        if not locked:
            return plan
        ids, chains = [r.pk for r in locked], [r.thread_id for r in locked]
        PrunedLeaf.objects.bulk_create(
            [PrunedLeaf(gseq=g, chain=c, seq_run=s, hash=h) for g, c, s, h in
             LedgerEntry.objects.filter(chain__in=chains).values_list("gseq", "chain", "seq_run", "hash")],
            batch_size=5000)
        now = timezone.now()
        PrunedChain.objects.bulk_create([PrunedChain(chain=r.thread_id, length=r.ledger_len, head=r.ledger_head,
                                                     pruned_at=now, actor=actor, retention_days=plan.rules[r.workflow])
                                         for r in locked])
        blobs: set[str] = set()
        from audit.erasure import _blob_refs

        for delta, snapshot in Checkpoint.objects.filter(run_id__in=ids).values_list("delta", "snapshot"):
            _blob_refs(loads(delta), blobs)
            _blob_refs(loads(snapshot) if snapshot else None, blobs)
        LedgerEntry.objects.filter(chain__in=chains).delete()
        Checkpoint.objects.filter(run_id__in=ids).delete()
        JournalEntry.objects.filter(run_id__in=ids).delete()
        ReviewDecision.objects.filter(item__run_id__in=ids).delete()
        deliveries_forget(source=REVIEW_SOURCE, refs=ReviewItem.objects.filter(run_id__in=ids).values("pk"))
        ReviewItem.objects.filter(run_id__in=ids).delete()
        Run.objects.filter(pk__in=ids).update(labels={})
        _delete_unshared_blobs(blobs, ids)
        system_ledger_append(kind="retention_pruned", actor=actor or None, payload={
            "runs": chains, "entries": plan.entries, "checkpoints": plan.checkpoints, "retention_days": plan.rules})
    return plan
