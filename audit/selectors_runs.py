"""Reads for the runs, timeline, checkpoint, fork and compare pages (no HTTP here)."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Count, F, Min, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from audit.date_range import date_range_parse
from orchestrator.cost_admin import budget_item_facts
from orchestrator.diffs import Change, state_diff
from orchestrator.history import state_at
from orchestrator.models import TERMINAL_STATUSES, Checkpoint, JournalEntry, Run, RunStatus
from orchestrator.registry import workflows
from orchestrator.roles import ADMIN, user_has_role
from orchestrator.state import loads
from review.markdown import render_inline
from review.models import ItemKind, ItemStatus, ReviewItem
from review.permissions import may_read_item

PAGE_SIZE = 25
TIMELINE_PAGE = 50
MOVING = frozenset({RunStatus.QUEUED, RunStatus.RUNNING})


def poll_seconds(statuses: Iterable[str]) -> int:
    """How often a page showing runs in these statuses refreshes them (0: never). Moving runs every
    2 s; suspended runs every 5 s, because someone else's decision (in the inbox, on a budget stop)
    moves them; once every run has ended nothing changes any more."""
    statuses = set(statuses)
    if statuses & MOVING:
        return 2
    return 5 if RunStatus.SUSPENDED in statuses else 0


# --- runs list ------------------------------------------------------------------------------------
@dataclass
class RunFilters:
    workflow: str = ""
    status: str = ""
    label: str = ""
    q: str = ""
    since: date | None = None
    until: date | None = None
    min_cost: Decimal | None = None
    errors: dict[str, str] = field(default_factory=dict)
    # The text as typed for the parsed fields: a form shows it back, so a value that did not parse
    # stays in its box next to its error instead of vanishing.
    raw: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_query(cls, query: Any) -> RunFilters:
        filters = cls(workflow=query.get("workflow", "").strip(), status=query.get("status", "").strip(),
                      label=query.get("label", "").strip(), q=query.get("q", "").strip(),
                      raw={name: query.get(name, "").strip() for name in ("since", "until", "min_cost")})
        dates = date_range_parse(filters.raw)
        filters.since, filters.until = dates.since, dates.until
        filters.errors.update(dates.errors)
        raw_cost = filters.raw["min_cost"]
        if raw_cost:
            try:
                filters.min_cost = Decimal(raw_cost)
            except InvalidOperation:
                filters.errors["min_cost"] = "use a number like 0.05"
            else:
                if not filters.min_cost.is_finite():  # NaN / Infinity parse, but no cost compares to them
                    filters.min_cost = None
                    filters.errors["min_cost"] = "use a number like 0.05"
        if filters.label and "=" not in filters.label:
            filters.errors["label"] = "use key=value, e.g. department=legal"
        if filters.status and filters.status not in RunStatus.values:
            filters.errors["status"] = f"one of {', '.join(RunStatus.values)}"
        return filters

    def queryset(self) -> Any:
        runs = Run.objects.all()
        if self.workflow:
            runs = runs.filter(workflow=self.workflow)
        if self.status and "status" not in self.errors:
            runs = runs.filter(status=self.status)
        if self.label and "label" not in self.errors:
            key, _, value = self.label.partition("=")
            runs = runs.filter(labels__contains={key.strip(): value.strip()})
        if self.q:
            runs = runs.filter(thread_id__icontains=self.q)
        # From/To are whole days in UTC, the zone every page shows times in (settings.TIME_ZONE).
        if self.since:
            runs = runs.filter(created_at__gte=datetime.combine(self.since, time.min, tzinfo=UTC))
        if self.until:
            runs = runs.filter(created_at__lt=datetime.combine(self.until + timedelta(days=1), time.min,
                                                               tzinfo=UTC))
        if self.min_cost is not None:
            runs = runs.filter(cost__gte=self.min_cost)
        return runs


def _encode_cursor(run: Run) -> str:
    return base64.urlsafe_b64encode(f"{run.created_at.isoformat()}|{run.pk}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, int] | None:
    try:
        stamp, _, pk = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(stamp), int(pk)
    except (ValueError, UnicodeDecodeError):
        return None


def runs_page(*, filters: RunFilters, cursor: str = "", limit: int = PAGE_SIZE) -> dict[str, Any]:
    """Newest first, keyset-paginated on (created_at, id): page N costs the same as page 1.

    Nothing is listed while a filter does not parse: the runs of the other filters alone would
    read as the answer to a question nobody asked."""
    if filters.errors:
        return {"runs": [], "next_cursor": "", "poll_s": 0}
    runs = filters.queryset().select_related("parent").order_by("-created_at", "-id")
    position = _decode_cursor(cursor) if cursor else None
    if position is not None:
        stamp, pk = position
        runs = runs.filter(Q(created_at__lt=stamp) | Q(created_at=stamp, id__lt=pk))
    rows = list(runs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "runs": rows,
        "next_cursor": _encode_cursor(rows[-1]) if more else "",
        "poll_s": poll_seconds(r.status for r in rows),
    }


def workflow_names() -> list[str]:
    return sorted(workflows())


# --- one run --------------------------------------------------------------------------------------
def run_header(run: Run, *, viewer: Any) -> dict[str, Any]:
    end = run.finished_at or timezone.now()
    forks = list(Run.objects.filter(parent=run).order_by("created_at").only("thread_id", "status",
                                                                             "forked_from_step"))
    diverged_node = ""
    if run.diverged_at_step is not None:
        diverged_node = (Checkpoint.objects.filter(run=run, step=run.diverged_at_step)
                         .values_list("node", flat=True).first() or "")
    return {
        "run": run,
        "duration_s": max(0.0, (end - run.created_at).total_seconds()),
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
            "actor": cp.actor.username if cp.actor_id else "", "gate": meta.get("gate") or meta.get("loop_guard"),
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


# --- families and comparisons ---------------------------------------------------------------------
def fork_family(run: Run) -> dict[str, Any]:
    """The whole family of `run`: its root ancestor and every descendant, as a nested tree."""
    root = run
    seen = {root.pk}
    while root.parent_id is not None and root.parent_id not in seen:
        root = Run.objects.get(pk=root.parent_id)
        seen.add(root.pk)
    children: dict[int, list[Run]] = {}
    level = [root.pk]
    count = 1
    while level and count < 2000:
        found = list(Run.objects.filter(parent_id__in=level).order_by("created_at"))
        for child in found:
            children.setdefault(child.parent_id, []).append(child)
        level = [child.pk for child in found]
        count += len(found)

    def node(r: Run) -> dict[str, Any]:
        return {"run": r, "current": r.pk == run.pk, "children": [node(c) for c in children.get(r.pk, [])]}

    return {"root": node(root), "size": count}


def _parent_after(fork: Run) -> list[Checkpoint]:
    return list(Checkpoint.objects.filter(run_id=fork.parent_id, step__gt=fork.forked_from_step)
                .order_by("step").defer("snapshot"))


def compare_runs(fork: Run) -> dict[str, Any]:
    """Original vs fork, node by node from the fork point: outputs, tokens, cost, first divergence."""
    parent = fork.parent
    theirs = _parent_after(fork)
    ours = list(Checkpoint.objects.filter(run=fork, step__gt=0).order_by("step").defer("snapshot"))
    journal: dict[int, dict[str, int]] = {}
    for visit, replayed in JournalEntry.objects.filter(run=fork, kind="llm").values_list("visit", "replayed"):
        counts = journal.setdefault(visit, {"replayed": 0, "live": 0})
        counts["replayed" if replayed else "live"] += 1
    rows = []
    first_output_divergence = None
    for index in range(max(len(theirs), len(ours))):
        a = theirs[index] if index < len(theirs) else None
        b = ours[index] if index < len(ours) else None
        # A step the fork has not reached yet (it is queued, running or waiting for a person) is
        # not a difference: only a fork that ended short of the original really lacks it.
        pending = b is None and fork.status not in TERMINAL_STATUSES
        changes = state_diff(_delta(a), _delta(b)) if a and b else []
        same_node = bool(a and b and a.node == b.node and a.source == b.source)
        differs = not pending and (not same_node or bool(changes))
        row = {
            "index": index + 1, "a": a, "b": b, "same_node": same_node, "changes": changes, "differs": differs,
            "pending": pending,
            "tokens_a": (a.input_tokens + a.output_tokens) if a else 0,
            "tokens_b": (b.input_tokens + b.output_tokens) if b else 0,
            "cost_a": a.cost if a else Decimal(0), "cost_b": b.cost if b else Decimal(0),
            "calls": journal.get(b.step - 1, {"replayed": 0, "live": 0}) if b else None,
            "live_divergence": b is not None and fork.diverged_at_step == b.step,
        }
        row["tokens_delta"] = row["tokens_b"] - row["tokens_a"]
        row["cost_delta"] = row["cost_b"] - row["cost_a"]
        if differs and first_output_divergence is None:
            first_output_divergence = row
        rows.append(row)
    divergent = next((r for r in rows if r["live_divergence"]), None)
    cost_a = sum((r["cost_a"] for r in rows), Decimal(0))
    tokens_a = sum(r["tokens_a"] for r in rows)
    return {
        "parent": parent, "fork": fork, "rows": rows,
        "first_live_node": divergent["b"].node if divergent else "",
        "first_live_step": fork.diverged_at_step,
        "first_output_divergence": first_output_divergence,
        "pending": any(r["pending"] for r in rows),
        "tokens_parent": tokens_a, "tokens_fork": fork.input_tokens + fork.output_tokens,
        "cost_parent": cost_a, "cost_fork": fork.cost,
    }


def _delta(cp: Checkpoint | None) -> dict[str, Any]:
    if cp is None:
        return {}
    delta = loads(cp.delta) or {}
    out = dict(delta.get("set", {}))
    for key, items in delta.get("append", {}).items():
        out[f"{key} (appended)"] = items
    return out


# --- regression batches ---------------------------------------------------------------------------
def replay_batch_rows(batch: str) -> dict[str, Any]:
    # What each parent spent after its fork's checkpoint, in the same query as the forks (the page
    # polls while replays run or wait at a gate; one query per fork would be up to 200 a poll).
    after = Checkpoint.objects.filter(run_id=OuterRef("parent_id"), step__gt=OuterRef("forked_from_step")) \
        .values("run_id")
    forks = list(Run.objects.filter(labels__contains={"replay_batch": batch}).select_related("parent")
                 .annotate(parent_cost_after=Subquery(after.annotate(v=Sum("cost")).values("v")),
                           parent_tokens_after=Subquery(after.annotate(
                               v=Sum(F("input_tokens") + F("output_tokens"))).values("v")))
                 .order_by("created_at", "id"))
    pairs = Q(pk__in=[])
    for fork in forks:
        if fork.diverged_at_step is not None:
            pairs |= Q(run_id=fork.pk, step=fork.diverged_at_step)
    diverged_nodes = dict(Checkpoint.objects.filter(pairs).values_list("run_id", "node"))
    rows = []
    for fork in forks:
        cost_before, tokens_before = fork.parent_cost_after or Decimal(0), fork.parent_tokens_after or 0
        rows.append({
            "fork": fork, "parent": fork.parent, "diverged": fork.diverged_at_step is not None,
            "diverged_node": diverged_nodes.get(fork.pk, ""), "cost_before": cost_before, "cost_after": fork.cost,
            "cost_delta": fork.cost - cost_before, "tokens_before": tokens_before,
            "tokens_after": fork.input_tokens + fork.output_tokens,
        })
    return {
        "rows": rows, "node": forks[0].labels.get("replay_node", "") if forks else "",
        "overrides": forks[0].overrides if forks else {},
        "live": any(f.status in MOVING for f in forks),
        # Forks waiting at a gate move when someone decides them, so the page keeps following them.
        "poll": poll_seconds(f.status for f in forks),
        "diverged": sum(1 for r in rows if r["diverged"]),
        "cost_before": sum((r["cost_before"] for r in rows), Decimal(0)),
        "cost_after": sum((r["cost_after"] for r in rows), Decimal(0)),
    }
