"""Reads for one run's pages: its header, why it waits, its timeline and node durations, and one
checkpoint's journal and state diff (no HTTP here)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Min, Sum

from audit.polling import MOVING, poll_seconds
from audit.selectors_runs_list import run_times
from orchestrator.cost_admin import budget_item_facts
from orchestrator.diffs import Change, state_diff
from orchestrator.history import state_at
from orchestrator.models import Checkpoint, JournalEntry, Run, RunStatus
from orchestrator.roles import ADMIN, person_name, user_has_role
from orchestrator.state import loads
from review.markdown import render_inline
from review.models import ItemKind, ItemStatus, ReviewItem
from review.permissions import may_read_item

TIMELINE_PAGE = 50


def run_header(run: Run, *, viewer: Any) -> dict[str, Any]:
    forks = list(Run.objects.filter(parent=run).order_by("created_at").only("thread_id", "status",
                                                                             "forked_from_step"))
    diverged_node = ""
    if run.diverged_at_step is not None:
        diverged_node = (Checkpoint.objects.filter(run=run, step=run.diverged_at_step)
                         .values_list("node", flat=True).first() or "")
    return {
        "run": run,
        "times": run_times([run])[run.pk],
        "tokens": run.input_tokens + run.output_tokens,
        "forks": forks,
        "live": run.status in MOVING,
        "poll_s": poll_seconds([run.status]),
        "shown": f"{run.status}@{run.step}",
        "diverged_node": diverged_node,
        "waiting": run_waiting(run, viewer=viewer),
    }


def run_waiting(run: Run, *, viewer: Any) -> dict[str, Any] | None:
    """Why a suspended run waits and on whom: its pending review item, and which page about it the
    viewer may open. Links follow review.permissions (may_read_item) and the roles table; only
    admins decide budget stops."""
    if run.status != RunStatus.SUSPENDED:
        return None
    item = ReviewItem.objects.filter(run=run, status=ItemStatus.PENDING).order_by("-step").first()
    budget = budget_item_facts(item) if item is not None and item.kind == ItemKind.BUDGET else {}
    return {
        "reason": run.suspended_reason, "item": item, "node": item.node if item else run.next_node,
        # The executor writes a loop guard's summary: what tripped it and what approving does.
        "summary_html": render_inline(item.summary) if item is not None else "",
        "budget": budget.get("budget", ""),
        "may_open_item": item is not None and may_read_item(viewer, item),
        "may_open_stop": item is not None and item.kind == ItemKind.BUDGET and user_has_role(viewer, ADMIN),
    }


def run_visits(run: Run) -> dict[str, int]:
    """How many times each node ran in this run (all of it, across loop-guard approvals)."""
    rows = (Checkpoint.objects.filter(run=run, source="node").values("node").annotate(n=Count("id"))
            .values_list("node", "n"))
    return dict(rows)


def run_timeline(run: Run, *, after: int = -1, limit: int = TIMELINE_PAGE) -> dict[str, Any]:
    """One page of checkpoints (step > after), without their state payloads."""
    rows = list(
        Checkpoint.objects.filter(run=run, step__gt=after).order_by("step")
        .defer("delta", "snapshot").select_related("actor")[: limit + 1]
    )
    more = len(rows) > limit
    rows = rows[:limit]
    previous_at = None
    if rows and rows[0].step > 0:
        previous_at = (Checkpoint.objects.filter(run=run, step=rows[0].step - 1)
                       .values_list("created_at", flat=True).first())
    entries = []
    for cp in rows:
        meta = loads(cp.meta) or {}
        entries.append({
            "step": cp.step, "node": cp.node, "source": cp.source, "next_node": cp.next_node,
            "created_at": cp.created_at, "duration_ms": cp.duration_ms,
            "wait_s": (cp.created_at - previous_at).total_seconds() if previous_at else None,
            "tokens": cp.input_tokens + cp.output_tokens, "cost": cp.cost, "retries": max(0, cp.attempt - 1),
            "actor": person_name(cp.actor) if cp.actor_id else "", "gate": meta.get("gate") or meta.get("loop_guard"),
            "decision": meta.get("decision"), "reason": meta.get("reason", ""),
            "fork_of": (meta.get("parent"), meta.get("step")) if cp.source == "fork" else None,
        })
        previous_at = cp.created_at
    return {"entries": entries, "next_after": rows[-1].step if more else None}


def run_duration_rows(run: Run, *, detail_limit: int = 60) -> tuple[str, list[dict[str, Any]]]:
    """Node durations and cost for the waterfall: per step for short runs, per node for long ones."""
    nodes = Checkpoint.objects.filter(run=run, source="node")
    if run.step <= detail_limit:
        rows = nodes.order_by("step").values("step", "node", "duration_ms", "cost", "input_tokens", "output_tokens")
        return "step", [{"label": f"{r['step']}·{r['node']}", "duration_ms": r["duration_ms"], "cost": r["cost"],
                         "tokens": r["input_tokens"] + r["output_tokens"], "count": 1} for r in rows]
    grouped = (nodes.values("node").annotate(first=Min("step"), duration=Sum("duration_ms"), cost=Sum("cost"),
                                             tokens=Sum("input_tokens") + Sum("output_tokens"), count=Count("id"))
               .order_by("first"))
    return "node", [{"label": g["node"], "duration_ms": g["duration"] or 0, "cost": g["cost"] or 0,
                     "tokens": g["tokens"] or 0, "count": g["count"]} for g in grouped]


# --- one checkpoint -------------------------------------------------------------------------------
def checkpoint_get(run: Run, step: int) -> Checkpoint | None:
    return Checkpoint.objects.filter(run=run, step=step).select_related("actor").first()


def checkpoint_visit(run: Run, cp: Checkpoint) -> int | None:
    """The journal visit of the node that produced this checkpoint: the step it started from."""
    meta = loads(cp.meta) or {}
    if cp.source == "gate":
        return meta.get("visit", cp.step - 1)
    if cp.source != "node":
        return None
    before = Checkpoint.objects.filter(run=run, step=cp.step - 1).only("source", "node").first()
    if before is not None and before.source == "decision" and before.node == cp.node:
        # Resumed after its gate: the node kept the visit it started before the gate.
        gate = (Checkpoint.objects.filter(run=run, step__lt=before.step, source="gate", node=cp.node)
                .order_by("-step").only("meta").first())
        if gate is not None and (loads(gate.meta) or {}).get("visit") is not None:
            return loads(gate.meta)["visit"]
    return cp.step - 1


def checkpoint_journal(run: Run, cp: Checkpoint) -> list[dict[str, Any]]:
    visit = checkpoint_visit(run, cp)
    if visit is None:
        return []
    rows = JournalEntry.objects.filter(run=run, visit=visit).order_by("call_index")
    if cp.node:
        rows = rows.filter(node=cp.node)
    out = []
    for row in rows:
        request = loads(row.request) or {}
        result = loads(row.result)
        entry = {"row": row, "request": request, "result": result, "messages": [], "text": ""}
        if row.kind == "llm":
            entry["messages"] = request.get("messages", []) if isinstance(request, dict) else []
            entry["text"] = result.get("text", "") if isinstance(result, dict) else ""
        out.append(entry)
    return out


def checkpoint_steps(run: Run) -> list[int]:
    return list(Checkpoint.objects.filter(run=run).order_by("step").values_list("step", flat=True)[:2000])


def checkpoint_diff(run: Run, *, step: int, against: int) -> list[Change]:
    return state_diff(state_at(run.pk, against), state_at(run.pk, step))
