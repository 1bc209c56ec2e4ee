"""Forks: a new run that starts from any checkpoint of another run, optionally with edited state.

`run_fork` in order:
  1. Read the parent's checkpoint and its stored state (snapshot + deltas; blob pointers stay
     pointers, so nothing large is copied).
  2. Check the edits as a gate's are checked (orchestrator.state_edits: the state schema, no typed
     blob pointers); refuse with the field, the key path and the reason.
  3. In one transaction: lock the parent row (refuse a run a worker is advancing: appending to
     its chain would fence that worker off; and one erased or pruned while the fork waited for
     it), create the fork run, write its checkpoint 0 (the
     parent's state plus the edits, source "fork", attributed to the actor), append "fork" to the
     fork's chain and "forked" to the parent's chain (guarded by the parent's ledger length).
     The parent's checkpoints are never touched.
  4. Enqueue the fork after commit.

The executor then runs the fork like any run. In "recorded" mode its LLM calls are answered
from the parent's journal until the first request that differs (orchestrator.replay); side
effects are dry-run unless `allow_effects` (orchestrator.context), which needs the admin role: a
fork starts past the gates its checkpoint follows. A fork taken right after an interrupt_before
decision runs the approved node without asking again only while its effects are dry runs.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from typing import Any, Literal

from django.conf import settings
from django.db import transaction

from audit.ledger import ChainCursor, salted_digest
from audit.models import LedgerEntry
from audit.selectors_ledger import run_state_gone
from orchestrator.budgets import budget_usage_ensure
from orchestrator.graph import Graph, versions_compatible
from orchestrator.history import approved_node_of, state_at
from orchestrator.label_keys import label_keys_record
from orchestrator.models import GENESIS, Checkpoint, Run, RunStatus
from orchestrator.queue import run_enqueue
from orchestrator.registry import WorkflowRetired, run_workflow
from orchestrator.request_keys import request_key_refusal
from orchestrator.roles import ADMIN, user_has_role
from orchestrator.services import RunError
from orchestrator.state import (
    StateError,
    StateTracker,
    check_serializable,
    dumps,
    hydrate_state,
    loads,
)
from orchestrator.state_edits import StateEditRefused, state_edits_check
from orchestrator.value_errors import has_nul, key_path, text_at
from orchestrator.workflow_versions import workflow_version_record

ReplayMode = Literal["live", "recorded"]
MODES: tuple[str, ...] = ("live", "recorded")
OVERRIDABLE = ("model", "prompt_version")
OVERRIDE_TEXT_MAX = 200  # characters of a model or prompt version: names, not documents


class ForkError(RunError):
    """The fork was refused; nothing changed. `field_errors` maps state fields to reasons."""


def fork_validate_edits(*, graph: Graph, state: dict[str, Any], edits: dict[str, Any]) -> dict[str, Any]:
    """Check an engineer's edits (any field of the state schema); return the changed fields, coerced."""
    try:
        return state_edits_check(schema=graph.state, state=state, edits=edits, editable=list(graph.state.model_fields),
                                 where="in a fork", not_editable=f"not a field of {graph.state.__name__}")
    except StateEditRefused as exc:
        raise ForkError(str(exc), exc.field_errors, api_fields=exc.api_fields("edits")) from None


FORK_STEP_CAP_FACTOR = 10


def override_settings_check(node: str, values: dict[str, Any], *, form_field: str = "override_node",
                            again: str = "fork") -> None:
    """The one rule for a node's override settings, a fork's (`_validate_overrides`) and a regression
    replay's (checked for the batch before any fork, so a refused value does not skip every run one by
    one): model and prompt_version are names, every value is JSON PostgreSQL can store. ForkError names
    the setting; `form_field` is the page's field to mark, `again` what to do once it is fixed."""
    # The engine passes model and prompt_version to ctx.llm as names: another type, or a document
    # pasted where a name goes, would fail the fork at its first call, and again on every retry.
    misnamed = [name for name in OVERRIDABLE if name in values
                and (not isinstance(values[name], str) or len(values[name]) > OVERRIDE_TEXT_MAX)]
    if misnamed:
        problem = f"must be text of at most {OVERRIDE_TEXT_MAX} characters, e.g. \"demo-large\" or \"v2\""
        lengths = ", ".join(f"{name} has {len(values[name]):,}" for name in misnamed if isinstance(values[name], str))
        raise ForkError(f"override for node {node!r}: {' and '.join(misnamed)} {problem}"
                        f"{f' ({lengths})' if lengths else ''}: give the {'name it is' if len(misnamed) == 1 else 'names they are'} "
                        f"known by and {again} again.",
                        {form_field: problem},
                        api_fields={key_path(("overrides", "nodes", node, name)): problem for name in misnamed})
    try:
        check_serializable("override", values)
    except StateError as exc:
        raise ForkError(f"override for node {node!r}: {exc}", {form_field: "not a JSON value"},
                        api_fields={key_path(("overrides", "nodes", node)): "not a JSON value"}) from None
    # The overrides are stored as JSON, where PostgreSQL refuses a NUL: a model typed with one on the
    # fork page (or in `runs fork --override`) was a 500 after the form had been accepted.
    holding = [name for name, value in values.items() if text_at(value, name, has_nul) is not None]
    if holding:
        raise ForkError(f"override for node {node!r}: {', '.join(holding)} holds a NUL character, which cannot "
                        f"be stored; remove it and {again} again.", {form_field: "remove the NUL character"},
                        api_fields={key_path(("overrides", "nodes", node, name)): "text may not contain the NUL "
                                    "character (\\u0000); remove it" for name in holding})


def _validate_overrides(graph: Graph, overrides: dict[str, Any] | None) -> dict[str, Any]:
    # Checked here, not when the fork runs: a setting the engine would ignore (a typo) makes a fork
    # that silently replays unchanged, and a value it cannot use would fail the fork on every retry.
    if not overrides:
        return {}
    if not isinstance(overrides, dict) or not isinstance(overrides.get("nodes", {}), dict):
        at = "overrides" if not isinstance(overrides, dict) else "overrides.nodes"
        raise ForkError('overrides must look like {"nodes": {"<node>": {"model": "...", "prompt_version": "..."}}}.',
                        api_fields={at: "must be an object"})
    unknown = sorted(set(overrides) - {"nodes", "step_cap"})
    if unknown:
        raise ForkError(f"unknown override {', '.join(map(repr, unknown))}: overrides are \"nodes\" "
                        "(per-node settings) and \"step_cap\" (a whole number of steps).",
                        api_fields={key_path(("overrides", key)): "is not an override; they are nodes and step_cap"
                                    for key in unknown})
    step_cap = overrides.get("step_cap")
    # The step cap is the deployment's guard against a loop that keeps paying for calls; a fork
    # may tighten it freely but loosen it only so far. A run that needs more steps still goes on
    # past the cap when someone approves its loop-guard stop.
    ceiling = FORK_STEP_CAP_FACTOR * settings.GATEHOUSE_STEP_CAP
    if step_cap is not None and (type(step_cap) is not int or not 1 <= step_cap <= ceiling):
        raise ForkError(f"step_cap must be a whole number of steps from 1 to {ceiling:,} ({FORK_STEP_CAP_FACTOR} times "
                        f"GATEHOUSE_STEP_CAP), not {step_cap!r}; a run stopped by its step cap continues when "
                        "its loop-guard stop is approved.", {"step_cap": f"a whole number from 1 to {ceiling:,}"},
                        api_fields={"overrides.step_cap": f"a whole number from 1 to {ceiling:,}"})
    nodes: dict[str, dict[str, Any]] = {}
    for node, values in overrides.get("nodes", {}).items():
        if node not in graph.nodes:
            raise ForkError(f"override for unknown node {node!r}; nodes of {graph.name}: {', '.join(graph.nodes)}.",
                            {"override_node": "not a node of this workflow"},
                            api_fields={key_path(("overrides", "nodes", node)): (
                                f"not a node of this workflow; its nodes are {', '.join(graph.nodes)}")})
        if not isinstance(values, dict):
            raise ForkError(f"override for node {node!r} must be an object of setting → value.",
                            api_fields={key_path(("overrides", "nodes", node)): "must be an object of setting → value"})
        settable = sorted({*OVERRIDABLE, *graph.nodes[node].settings})
        typos = sorted(set(values) - set(settable))
        if typos:
            raise ForkError(f"override for node {node!r}: {', '.join(map(repr, typos))} is not one of its settings "
                            f"({', '.join(settable)}); a setting the node reads with ctx.setting() is overridable "
                            "once it is declared in the node's settings={...}.", {"override_node": "unknown setting"},
                            api_fields={key_path(("overrides", "nodes", node, typo)): (
                                f"not a setting of node {node!r}; it has {', '.join(settable)}") for typo in typos})
        cleaned = {k: v for k, v in values.items() if v not in (None, "")}
        if cleaned:
            override_settings_check(node, cleaned)
            nodes[node] = cleaned
    extra = {"step_cap": step_cap} if step_cap is not None else {}
    return {**extra, "nodes": nodes} if nodes else extra


def _actor_name(actor: Any) -> str | None:
    return getattr(actor, "username", None) or (actor if isinstance(actor, str) else None)


def _inherited(labels: dict[str, str]) -> dict[str, str]:
    # A fork of a batch member is not part of that batch.
    return {k: v for k, v in labels.items() if k not in ("replay_batch", "replay_node")}


def _carried_approval(checkpoint: Checkpoint, allow_effects: bool) -> str | None:
    """The node a fork may run without asking its gate again: the one a reviewer just approved, as
    long as the fork's effects are dry runs (nothing real happens, edited or not). A fork that acts
    for real asks again: one approval is one action."""
    if checkpoint.source != "decision" or allow_effects:
        return None
    return approved_node_of(checkpoint.source, checkpoint.node, loads(checkpoint.meta) or {})


class ForkForbidden(ForkError):
    """The actor's role may not make this fork: a 403 on the API and the fork page, exit 1 on the CLI,
    worded alike (it says who may)."""


def _check_may_act(actor: Any, allow_effects: bool) -> None:
    # A fork starts after whatever gates its checkpoint follows, so real effects from edited or
    # replayed state would act without the reviewer who approved the original: only an admin
    # may make that call. Dry runs (the default) are every engineer's to make.
    if allow_effects and not user_has_role(actor, ADMIN):
        raise ForkForbidden("only admins may fork with side effects performed for real: a fork starts past the "
                            "gates its checkpoint follows, so its actions would skip their reviewers. Fork with "
                            "effects as dry runs, or ask an admin to make this fork.",
                            {"allow_effects": "admins only"})




class RequestKeyReused(ForkError):
    """The request key already made a fork with other settings (or names another run)."""


def _check_request_key(request_key: str | None) -> None:
    if (refusal := request_key_refusal(request_key)) is not None:
        raise ForkError(refusal[0], {"request_key": refusal[1]})


def _same_request(made: Run, *, at_step: int, mode: str, allow_effects: bool, overrides: dict[str, Any],
                  labels: dict[str, str], stored_edits: dict[str, Any]) -> bool:
    first = Checkpoint.objects.filter(run=made, step=0).only("meta").first()
    edits = (loads(first.meta) or {}).get("edits", {}) if first else None
    return (made.forked_from_step, made.replay_mode, made.allow_effects, made.overrides, made.labels, edits) == \
        (at_step, mode, allow_effects, overrides, labels, stored_edits)


def _refuse_gone(run: Run) -> None:
    """Refuse a run whose state is gone: erased, or its history pruned by retention."""
    if (gone := run_state_gone(run.thread_id, to="fork")) is not None:
        raise ForkError(gone)


def _fork_thread_id(parent: Run, request_key: str | None) -> str:
    # The request key is the fork's name: a form sent twice names the same fork, and the thread
    # id's unique constraint (with the parent row lock) makes the second send find the first.
    return f"{parent.thread_id[:170]}-fork-{request_key or uuid.uuid4().hex[:8]}"


def run_fork(*, run: Run, at_step: int, edits: dict[str, Any] | None = None, mode: ReplayMode = "recorded",
             overrides: dict[str, Any] | None = None, allow_effects: bool = False, actor: Any = None,
             labels: dict[str, str] | None = None, request_key: str | None = None) -> Run:
    """Fork `run` at checkpoint `at_step` into a new queued run; see the module docstring.

    With a `request_key` (8–16 lowercase hex, e.g. form_request_key()) the call is idempotent: a
    second call with the same key returns the fork the first one made (a double-submitted form, a
    client retrying after a timeout) instead of forking, and running its side effects, twice."""
    _check_request_key(request_key)
    if mode not in MODES:
        raise ForkError(f"mode must be live or recorded, not {mode!r}.", {"mode": "choose live or recorded"})
    _check_may_act(actor, allow_effects)
    _refuse_gone(run)  # before its state is read: erased values would fail the edits' checks confusingly
    try:
        graph = run_workflow(run.workflow, run.thread_id)
    except WorkflowRetired as exc:
        raise ForkError(f"{exc}: there is no code to run a fork on.") from None
    if not versions_compatible(run.graph_version, graph.version):
        raise ForkError(
            f"workflow {run.workflow!r} changed incompatibly since run {run.thread_id} ran "
            f"({run.graph_version} → {graph.version}); its checkpoints cannot run on the new structure."
        )
    checkpoint = (Checkpoint.objects.filter(run=run, step=at_step)
                  .only("step", "node", "source", "next_node").first())
    if checkpoint is None:
        raise ForkError(f"run {run.thread_id} has no checkpoint at step {at_step}; "
                        f"its checkpoints are 0 to {run.step}.", {"at_step": "no such checkpoint"})
    if not checkpoint.next_node:
        raise ForkError(
            f"checkpoint {at_step} of {run.thread_id} is where the run ended ({checkpoint.source}"
            f"{' at ' + checkpoint.node if checkpoint.node else ''}): nothing runs after it. "
            "Fork from an earlier checkpoint.", {"at_step": "the run ended here"})
    clean_overrides = _validate_overrides(graph, overrides)
    stored = state_at(run.pk, at_step)
    changed = fork_validate_edits(graph=graph, state=hydrate_state(stored), edits=edits) if edits else {}
    tracker = StateTracker(stored, blob_threshold=settings.GATEHOUSE_BLOB_THRESHOLD,
                           snapshot_every=settings.GATEHOUSE_SNAPSHOT_EVERY)
    # An edit replaces the field's value, also for append-reducer lists.
    stored_edits = tracker.apply(changed, check_serializable("edit", changed), {}).set if changed else {}
    actor_user = actor if getattr(actor, "pk", None) else None
    name = _actor_name(actor)
    with transaction.atomic():
        # No key update: rows that reference the run (an alert's FK check) need not wait for the fork.
        parent = Run.objects.select_for_update(no_key=True).get(pk=run.pk)
        # Again under the lock: an erasure of the parent may have committed while this waited for it, and the
        # state read above (the customer's data) would live on in the fork, where the erasure never looked;
        # or a prune, and a recorded fork would find none of the parent's calls to replay.
        _refuse_gone(parent)
        thread_id = _fork_thread_id(parent, request_key)
        fork_labels = {**_inherited(parent.labels), **(labels or {}), "forked_from": parent.thread_id}
        made = Run.objects.filter(thread_id=thread_id).first() if request_key is not None else None
        if made is not None:
            if made.parent_id == parent.pk and _same_request(
                    made, at_step=at_step, mode=mode, allow_effects=allow_effects, overrides=clean_overrides,
                    labels=fork_labels, stored_edits=stored_edits):
                return made  # this request was carried out already
            raise RequestKeyReused(
                f"request key {request_key} already made {made.thread_id}, with other settings: reload the "
                "form (or send a new key) to fork again.", {"request_key": "already used for another fork"})
        if parent.status == RunStatus.RUNNING:
            raise ForkError(f"run {parent.thread_id} is running: a worker is advancing it. Fork it once it "
                            "completes, suspends or fails, or cancel it first.")
        salt = secrets.token_hex(16)
        # Both chain heads are computed here and written with the rows (fewer round trips than
        # ledger_append's insert-then-save; the parent row lock makes it safe the same way).
        fork_chain = ChainCursor(chain=thread_id, length=0, head=GENESIS)
        fork_entry = fork_chain.append(kind="fork", step=0, actor=name, payload={
            "parent": parent.thread_id, "step": at_step, "mode": mode, "allow_effects": allow_effects,
            "fields": sorted(changed), "edits": salted_digest(changed, salt) if changed else "",
            "overrides": salted_digest(clean_overrides, salt) if clean_overrides else "",
        })
        parent_chain = ChainCursor(chain=parent.thread_id, length=parent.ledger_len, head=parent.ledger_head)
        parent_entry = parent_chain.append(kind="forked", step=at_step, actor=name,
                                           payload={"fork": thread_id, "step": at_step, "mode": mode})
        fork = Run.objects.create(
            thread_id=thread_id, workflow=parent.workflow, graph_version=graph.version,
            labels=fork_labels,
            next_node=checkpoint.next_node, parent=parent, forked_from_step=at_step, replay_mode=mode,
            allow_effects=allow_effects, overrides=clean_overrides, created_by=actor_user, ledger_salt=salt,
            ledger_len=fork_chain.length, ledger_head=fork_chain.head,
        )
        Checkpoint.objects.create(
            run=fork, step=0, node="", source="fork", delta=dumps({"set": stored_edits} if stored_edits else {}),
            snapshot=tracker.snapshot(), next_node=checkpoint.next_node, state_hash=tracker.state_hash(),
            actor=actor_user, meta=dumps({"parent": parent.thread_id, "step": at_step, "edits": stored_edits,
                                          "mode": mode, "allow_effects": allow_effects,
                                          "approved_node": _carried_approval(checkpoint, allow_effects)}),
        )
        LedgerEntry.objects.bulk_create([
            LedgerEntry(chain=row["run"], run_id=run_id, seq_run=row["seq_run"], kind=row["kind"], step=row["step"],
                        actor=row["actor"], at=row["at"], payload=row["payload"], prev=row["prev"], hash=row["hash"])
            for row, run_id in ((fork_entry, fork.pk), (parent_entry, parent.pk))
        ])
        moved = Run.objects.filter(pk=parent.pk, ledger_len=parent.ledger_len).update(
            ledger_len=parent_chain.length, ledger_head=parent_chain.head)
        if moved != 1:
            raise ForkError(f"run {parent.thread_id} changed while forking it; try again.")
        budget_usage_ensure(run_id=fork.pk, workflow=fork.workflow, labels=fork.labels)
        label_keys_record(fork.labels)
        # Last: a new version takes the system chain's lock, held only until this commits.
        workflow_version_record(graph, actor=name)
        run_enqueue(fork.pk)
    return fork


def replay_batch_start(*, runs: list[Run], node: str, node_settings: dict[str, Any], actor: Any,
                       allow_effects: bool = False, request_key: str | None = None,
                       ) -> tuple[str, list[Run], list[tuple[Run, str]]]:
    """Regression replay: fork each run just before `node` first ran, recorded mode, with the node's
    settings overridden. Returns (batch id, forks, [(run, why it was skipped)]). The batch is the
    set of runs labelled `replay_batch=<id>`. With a `request_key` the batch is that key and each
    fork is keyed by it: the same request sent twice names the same batch and forks once."""
    settings_clean = {k: v for k, v in node_settings.items() if v not in (None, "")}
    if not settings_clean:
        raise ForkError("give at least one override (e.g. a model) for the node: replaying unchanged "
                        "proves nothing.", {"override": "set a model or a prompt version"})
    # Refused for the batch, before any fork: each run's fork would refuse it, and skip the run.
    override_settings_check(node, settings_clean, form_field="override", again="replay")
    _check_request_key(request_key)
    batch = request_key or uuid.uuid4().hex[:10]
    forks: list[Run] = []
    skipped: list[tuple[Run, str]] = []
    for run in runs:
        point = (Checkpoint.objects.filter(run=run, next_node=node).order_by("step")
                 .values_list("step", flat=True).first())
        if point is None:
            skipped.append((run, f"never reached {node}"))
            continue
        try:
            forks.append(run_fork(
                run=run, at_step=point, mode="recorded", allow_effects=allow_effects, actor=actor,
                overrides={"nodes": {node: settings_clean}},
                labels={"replay_batch": batch, "replay_node": node},
                # Per run, from the batch's key: the same form sent again finds its forks, and a
                # changed node or setting under that key is refused (RequestKeyReused) for all.
                request_key=hashlib.sha256(f"{batch}:{run.pk}".encode()).hexdigest()[:12] if request_key else None,
            ))
        except RequestKeyReused:
            raise
        except RunError as exc:
            skipped.append((run, str(exc)))
    return batch, forks, skipped
