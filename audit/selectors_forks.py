"""Reads for forks: a run's whole family, a fork compared with its original step by step, and a
regression batch's forks against their parents (no HTTP here)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import F, OuterRef, Q, Subquery, Sum

from audit.polling import MOVING, poll_seconds
from orchestrator.diffs import state_diff
from orchestrator.models import TERMINAL_STATUSES, Checkpoint, JournalEntry, Run
from orchestrator.state import loads


def fork_family(run: Run) -> dict[str, Any]:
    """The whole family of `run`: its root ancestor and every descendant, as a nested tree, and `forks`:
    how many runs were forked from the root (at any depth; the root itself not counted)."""
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

    return {"root": node(root), "forks": count - 1}


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
