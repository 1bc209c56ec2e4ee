"""Reads about runs for the CLI, the API and pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from audit.models import PrunedChain
from orchestrator.budgets import amount_text
from orchestrator.diffs import Change, state_diff
from orchestrator.history import state_at
from orchestrator.models import Checkpoint, Run
from orchestrator.registry import UnknownWorkflow, workflows
from orchestrator.state import loads
from review.models import ItemStatus, ReviewItem


def pending_gate_summary(item: ReviewItem | None) -> dict[str, Any] | None:
    """A run's pending gate as the API shows it (None: nothing pending)."""
    if item is None:
        return None
    return {"item": item.pk, "action": item.action, "status": item.status, "node": item.node,
            "approvals": item.approvals, "required_approvals": item.required_approvals}


def workflow_known(name: str) -> None:
    """Refuse (UnknownWorkflow, naming the registered ones) a workflow that is neither registered nor
    the workflow of a stored run: a retired workflow's runs are still kept, exported and pruned, so its
    name stays a real one."""
    registered = workflows()
    if name not in registered and not Run.objects.filter(workflow=name).exists():
        raise UnknownWorkflow(name, list(registered))


def run_summary(run: Run) -> dict[str, Any]:
    item = ReviewItem.objects.filter(run=run, status=ItemStatus.PENDING).order_by("-step").first()
    return {
        "thread_id": run.thread_id,
        "workflow": run.workflow,
        "version": run.graph_version,
        "status": run.status,
        "suspended_reason": run.suspended_reason,
        "current_node": run.next_node,
        "step": run.step,
        "pending_gate": pending_gate_summary(item),
        "input_tokens": run.input_tokens,
        "output_tokens": run.output_tokens,
        "cost": amount_text(run.cost),  # "0.000000" for a new run too, whose unsaved cost is Decimal(0)
        "labels": run.labels,
        "error": (run.error or {}).get("message") if run.error else None,
        **run_lineage(run),
        "created_at": run.created_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }


def run_lineage(run: Run) -> dict[str, Any]:
    """Where a fork comes from and how it replays (what its run page's header says). A run that is not
    a fork has no parent, no fork step, replay mode or divergence, no overrides, and real side effects."""
    return {
        "parent": run.parent.thread_id if run.parent_id else None,
        "forked_from_step": run.forked_from_step,
        "replay_mode": run.replay_mode or None,
        "allow_effects": run.allow_effects,
        "overrides": run.overrides or {},
        # Recorded mode: the first step whose LLM call was made live instead of replayed (None: none yet).
        "diverged_at_step": run.diverged_at_step,
    }


class StateUnavailable(LookupError):
    """A run's state cannot be read at the step asked for; the message says why."""


class StepOutOfRange(StateUnavailable):
    """No checkpoint `step` in this run: it has checkpoints 0 to `latest`."""

    def __init__(self, run: Run, step: int) -> None:
        self.thread_id, self.step, self.latest = run.thread_id, step, run.step
        super().__init__(f"run {run.thread_id} has checkpoints 0 to {run.step}")


class HistoryPruned(StateUnavailable):
    """Retention removed the run's checkpoints: only its row (and its ledger's proof) is left."""


def run_state(run: Run, step: int | None = None) -> dict[str, Any]:
    """The run's state after checkpoint `step` (None: its latest), as the checkpoint page shows it: in
    stored form. A value the engine stored as a blob stays its pointer `{"$blob": sha256, "size": bytes,
    "type": …}` (its bytes are the page's download link, /runs/blobs/<sha256>/), so a large document is
    not sent whole with every read; a node's own pointers (ctx.blobs.put) are pointers anyway. An erased
    run's values read `{"$erased": true}`. Raises StepOutOfRange or HistoryPruned."""
    at = run.step if step is None else step
    if 0 <= at <= run.step:
        try:
            return {"thread_id": run.thread_id, "step": at, "state": state_at(run.pk, at)}
        except LookupError:
            pass
    pruned = PrunedChain.objects.filter(chain=run.thread_id).first()
    if pruned is not None:
        raise HistoryPruned(
            f"run {run.thread_id}'s history was pruned by retention on {pruned.pruned_at:%Y-%m-%d}: its state is "
            "no longer kept, only the run's summary and the ledger's proof of what happened.")
    raise StepOutOfRange(run, at)


def run_diff(run: Run, from_step: int, to_step: int) -> list[Change]:
    """The changes between the states of two checkpoints, in the stored form run_state reads;
    StepOutOfRange (for `from_step` first) or HistoryPruned as run_state raises them."""
    before = run_state(run, from_step)["state"]
    return state_diff(before, run_state(run, to_step)["state"])


def run_checkpoints(run: Run) -> list[dict[str, Any]]:
    """Every checkpoint of the run, in step order (`runs history`; the API reads a page at a time)."""
    return [_checkpoint_json(cp) for cp in _checkpoint_rows(run).order_by("step")]


@dataclass
class CheckpointPage:
    rows: list[dict[str, Any]]
    next_after: int | None  # the after_step of the next page; None: this page is the last


def run_checkpoint_page(run: Run, *, after_step: int | None = None, limit: int) -> CheckpointPage:
    """At most `limit` of the run's checkpoints with a step past `after_step` (None: from step 0), in step
    order. A keyset read on the (run, step) unique index, of the page and one more row (which says whether
    more remain), so a page of a 10,000-step run reads as little as a page of a short one."""
    rows = _checkpoint_rows(run)
    if after_step is not None:
        rows = rows.filter(step__gt=after_step)
    found = list(rows.order_by("step")[: limit + 1])
    page = found[:limit]
    return CheckpointPage(rows=[_checkpoint_json(cp) for cp in page],
                          next_after=page[-1].step if len(found) > limit else None)


def _checkpoint_rows(run: Run) -> QuerySet[Checkpoint]:
    # Not the state's delta or snapshot, which a listing does not show and which may be large.
    return Checkpoint.objects.filter(run=run).select_related("actor").defer("delta", "snapshot")


def _checkpoint_json(cp: Checkpoint) -> dict[str, Any]:
    return {
        "step": cp.step,
        "node": cp.node,
        "source": cp.source,
        "next_node": cp.next_node,
        "created_at": cp.created_at.isoformat(),
        "actor": cp.actor.username if cp.actor_id else None,
        "duration_ms": round(cp.duration_ms, 3),
        "input_tokens": cp.input_tokens,
        "output_tokens": cp.output_tokens,
        "cost": amount_text(cp.cost),
        "attempt": cp.attempt,
        "meta": loads(cp.meta),
    }


def run_label_pairs(*, recent: int = 5000) -> list[str]:
    """The `key=value` labels on the newest `recent` labelled runs, sorted: what label budgets
    are written against. Bounded so the budget form stays one index scan on a large run table."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT t.k || '=' || t.v FROM (SELECT labels FROM orchestrator_run WHERE labels <> '{}'"
            " ORDER BY created_at DESC, id DESC LIMIT %s) r, jsonb_each_text(r.labels) AS t(k, v) ORDER BY 1",
            [recent],
        )
        return [row[0] for row in cursor.fetchall()]
