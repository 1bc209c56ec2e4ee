"""The executor: advance one run until END, a gate, a failure or a guard, committing every step.

`run_advance(run_id, worker=...)` is what an RQ job calls. In order:
  1. Claim the run with a conditional UPDATE (queued, or running with an expired lease), which
     bumps the fencing token. Zero rows: another worker has it, or there is nothing to do.
  2. Rebuild the state from Postgres (snapshot + deltas) — never from the job or the process.
  3. For each node: guards (step cap, visit cap) → gate? suspend : run the node with its retry
     policy → check the update (keys, JSON, schema) → route → commit the transition in one
     statement (orchestrator.commit) → next node.
  4. Any commit rejected for a stale token means a newer worker owns the run: stop at once.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from pydantic import BaseModel, ValidationError

from audit.ledger import ChainCursor, salted_digest
from orchestrator.budgets import Allowance, BudgetExceeded, money
from orchestrator.commit import LeaseLost, RunChange, Transition, retry_commit, transition_commit
from orchestrator.context import Interrupt, NodeContext, RunInfo, Spend
from orchestrator.engine_errors import TRANSIENT_DATABASE_ERRORS, EngineUnavailable
from orchestrator.graph import END, GateRequest, Graph, GraphError, versions_compatible
from orchestrator.heartbeat import lease_heartbeat
from orchestrator.history import (
    approved_node_of,
    last_checkpoint_meta,
    node_steps_since,
    state_at,
    state_from_rows,
)
from orchestrator.journal import LazyJournal
from orchestrator.prepared import ASYNC_COMMIT, async_commit_param, execute_prepared
from orchestrator.registry import UnknownWorkflow, WorkflowModuleError, workflow_get
from orchestrator.replay import replay_source
from orchestrator.state import (
    StateError,
    StateTracker,
    check_serializable,
    dumps,
    schema_error,
    stored_state_error,
)
from orchestrator.workflow_versions import workflow_version_seen

log = logging.getLogger("gatehouse.executor")

# The claim and everything the executor needs to start, in one round trip: the run row (claimed
# with a conditional UPDATE that bumps the fencing token), the checkpoints that rebuild its state
# (the newest snapshot and the deltas after it), the (node, next node, state hash) of every node
# step since the last loop-guard approval (visit counts and the repeated-state guard), and the
# newest checkpoint's source and meta (was the pending node just approved?).
#
# The claim commits asynchronously (synchronous_commit off for this transaction only): nothing
# outside Postgres depends on it being durable. The worker's first durable commit (a journal row
# or a step) flushes the WAL up to and including the claim; a crash before that loses the claim
# and the run is simply claimed again.
#
# The run row is locked FOR UPDATE before it is updated, as a cancel locks it. A plain UPDATE of
# these columns is a no-key update, which does not conflict with the FOR KEY SHARE lock by which a
# journal insert checks the lease (orchestrator.journal): the worker that lost the run could
# still journal a call under its old token while this claim was open, and its row became visible
# only after the new worker had read the journal (its commit waits for the WAL flush; this one
# does not). The new worker paid for the call again and crashed on the journal's unique key, its
# own spend row rolled back: a billed call missing from the costs page. With the lock,
#   1. a journal insert that came first holds the claim until it commits: the new worker reads
#      the journal after that, finds the call and reuses it, unpaid;
#   2. one that comes second waits for the claim to commit, reads the row again, finds the token
#      moved on and records nothing: the stale worker's settlement counts the call in the run's
#      totals (budgets._FENCED_CALL_COUNTED), and the new worker pays for its own.
# A budget hold's lease check (budgets._RESERVE) waits the same way. The cost is one row lock per
# claim, not per call: the journal's hot path is unchanged.
_CLAIMABLE = "(status = 'queued' OR (status = 'running' AND lease_expires_at < statement_timestamp()))"
_CLAIM = f"""
WITH claimable AS (
  SELECT id FROM orchestrator_run WHERE id = %(run)s AND {_CLAIMABLE} FOR UPDATE
), c AS (
  UPDATE orchestrator_run SET status = 'running', lease_token = lease_token + 1, lease_owner = %(worker)s,
         lease_expires_at = statement_timestamp() + %(lease)s * interval '1 second',
         updated_at = statement_timestamp()
  WHERE id = (SELECT id FROM claimable) AND {_CLAIMABLE} AND {ASYNC_COMMIT}
  RETURNING id, lease_token, step, next_node, visit_step, spend_counted, ledger_len, ledger_head, workflow, graph_version,
            thread_id, labels, guard_base_step, overrides, parent_id, allow_effects, ledger_salt
)
SELECT c.lease_token, c.step, c.next_node, c.visit_step, c.spend_counted, c.ledger_len, c.ledger_head, c.workflow,
       c.graph_version, c.thread_id, c.labels, c.guard_base_step, c.overrides, c.parent_id, c.allow_effects,
       c.ledger_salt,
       (SELECT json_agg(json_build_array(k.step, k.delta::json, k.snapshot::json) ORDER BY k.step)
          FROM orchestrator_checkpoint k
         WHERE k.run_id = c.id AND k.step <= c.step
           AND k.step >= (SELECT max(s.step) FROM orchestrator_checkpoint s
                           WHERE s.run_id = c.id AND s.step <= c.step AND s.snapshot IS NOT NULL)),
       (SELECT json_agg(json_build_array(k.node, k.next_node, k.state_hash))
          FROM orchestrator_checkpoint k
         WHERE k.run_id = c.id AND k.step > c.guard_base_step AND k.source = 'node'),
       (SELECT json_build_array(k.source, k.node, k.meta::json)
          FROM orchestrator_checkpoint k WHERE k.run_id = c.id ORDER BY k.step DESC LIMIT 1)
FROM c
"""


@dataclass
class Claim:
    run_id: int
    token: int
    step: int
    next_node: str
    visit_step: int
    spend_counted: list[int]
    visits: dict[str, int]
    ledger: ChainCursor
    workflow: str
    graph_version: str
    thread_id: str
    labels: dict[str, str]
    guard_base_step: int
    overrides: dict[str, Any]
    parent_id: int | None
    allow_effects: bool
    salt: str
    stored_state: dict[str, Any]
    seen: set[tuple[str, str]]
    last_checkpoint: tuple[str, str, dict[str, Any]] | None


def run_claim(run_id: int, worker: str, lease_seconds: int) -> Claim | None:
    row = execute_prepared(_CLAIM, {"run": run_id, "worker": worker, "lease": lease_seconds,
                                    "async_commit": async_commit_param()})
    if row is None:
        return None
    (token, step, next_node, visit_step, spend_counted, ledger_len, ledger_head, workflow, graph_version, thread_id, labels,
     guard_base_step, overrides, parent_id, allow_effects, salt, checkpoints, node_steps, last) = row
    if not checkpoints or checkpoints[-1][0] != step:
        # The claim waited for a concurrent commit to the run row and then saw its newer step, but
        # the checkpoint reads kept the statement's earlier snapshot: read them again, afresh.
        stored_state = state_at(run_id, step)
        node_steps = node_steps_since(run_id, guard_base_step)
        last = last_checkpoint_meta(run_id)
    else:
        stored_state = state_from_rows(checkpoints)
    visits: dict[str, int] = {}
    for node, _next, _hash in node_steps or ():
        visits[node] = visits.get(node, 0) + 1
    return Claim(
        run_id=run_id, token=token, step=step, next_node=next_node, visit_step=visit_step,
        spend_counted=list(spend_counted or ()), visits=visits,
        ledger=ChainCursor(chain=thread_id, length=ledger_len, head=ledger_head), workflow=workflow,
        graph_version=graph_version, thread_id=thread_id, labels=_json(labels), guard_base_step=guard_base_step,
        overrides=_json(overrides), parent_id=parent_id, allow_effects=allow_effects, salt=salt,
        stored_state=stored_state, seen={(n, h) for _node, n, h in node_steps or ()},
        last_checkpoint=tuple(last) if last else None,
    )


def _json(value: Any) -> Any:
    # psycopg returns jsonb already decoded; keep a fallback for drivers configured otherwise.
    return json.loads(value) if isinstance(value, str) else value


# Called (with the run id) after a transition that suspended a run has committed: other apps
# hook in here, e.g. review sends new-item notifications at once instead of on the next
# reconciler pass. They run after the job gave its budget hold back. A failing hook is logged; it
# never affects the run.
AFTER_SUSPEND: list[Callable[[int], Any]] = []


def _after_suspend(run_id: int) -> None:
    for hook in AFTER_SUSPEND:
        try:
            hook(run_id)
        except Exception:
            log.exception("after-suspend hook %r failed for run %s", hook, run_id)


class Execution:
    def __init__(self, claim: Claim, graph: Graph, lease_seconds: int) -> None:
        self.claim = claim
        self.graph = graph
        self.lease_seconds = lease_seconds
        self.step_cap = int(claim.overrides.get("step_cap") or settings.GATEHOUSE_STEP_CAP)
        self.tracker = StateTracker(
            claim.stored_state,
            blob_threshold=settings.GATEHOUSE_BLOB_THRESHOLD,
            snapshot_every=settings.GATEHOUSE_SNAPSHOT_EVERY,
        )
        self.model = graph.state.model_validate(self.tracker.values)
        self.seen = claim.seen
        last = claim.last_checkpoint
        # A decision checkpoint at node X means "X was approved": run X instead of gating again.
        self.approved_node = approved_node_of(*last) if last else None
        self.info = RunInfo(
            id=claim.run_id, thread_id=claim.thread_id, workflow=claim.workflow, labels=claim.labels,
            lease_token=claim.token, overrides=claim.overrides, is_fork=claim.parent_id is not None,
            allow_effects=claim.allow_effects,
        )
        self.replay = replay_source(claim.run_id) if claim.parent_id is not None else None
        self.allowance = Allowance()  # this job's budget hold, given back when advance() ends
        self.diverged_at: int | None = None
        self.pending_ledger: list[dict[str, Any]] = []

    # --- commits -----------------------------------------------------------------------------------
    def _commit(self, change: RunChange, *, checkpoint: dict[str, Any] | None = None,
                review_item: dict[str, Any] | None = None) -> None:
        before = self.claim.ledger.length - len(self.pending_ledger)
        transition_commit(
            Transition(
                run_id=self.claim.run_id, lease_token=self.claim.token,
                ledger_len_before=before, run=change, ledger=self.pending_ledger,
                checkpoint=checkpoint, review_item=review_item,
            )
        )
        self.pending_ledger = []

    def _ledger(self, kind: str, payload: dict[str, Any], *, step: int | None) -> None:
        self.pending_ledger.append(self.claim.ledger.append(kind=kind, step=step, actor=None, payload=payload))

    def _rollback_ledger(self) -> None:
        """A rejected commit wrote nothing; forget the entries we chained in memory."""
        self.claim.ledger.length -= len(self.pending_ledger)
        if self.pending_ledger:
            self.claim.ledger.head = self.pending_ledger[0]["prev"]
        self.pending_ledger = []

    # --- the loop ----------------------------------------------------------------------------------
    def advance(self) -> str:
        try:
            outcome = "running"
            while outcome == "running":
                outcome = self.step_once()
        finally:
            try:
                self.allowance.close()
            except TRANSIENT_DATABASE_ERRORS as exc:  # the database is away: one line, the job says the rest
                log.warning("run %s: could not give back the budget hold (%s); the reconciler releases it once it "
                            "expires", self.claim.thread_id, str(exc).strip())
            except Exception:  # the reconciler releases it instead; do not hide the job's own error
                log.exception("run %s: could not give back the budget hold", self.claim.run_id)
        # Hooks run once the hold is given back: they talk to the outside (a mail server) and may
        # take their time, and the hold keeps room on the budgets from every other run meanwhile.
        if outcome == "suspended":
            _after_suspend(self.claim.run_id)
        return outcome

    def step_once(self) -> str:
        claim = self.claim
        node_name = claim.next_node
        if not node_name or node_name == END:
            return self._finish_without_node()
        node = self.graph.nodes.get(node_name)
        if node is None:
            return self._fail(node_name, GraphError(f"node {node_name!r} no longer exists in {self.graph.name}"))
        visits = claim.visits.get(node_name, 0)
        max_visits = node.max_visits or self.graph.max_visits
        if claim.step - claim.guard_base_step >= self.step_cap:
            return self._loop_guard(node_name, f"step cap of {self.step_cap} steps reached")
        if visits >= max_visits:
            return self._loop_guard(node_name, f"node {node_name!r} visited {visits} times (cap {max_visits})")
        if node.is_gate or (node.interrupt_before and self.approved_node != node_name):
            try:
                request = self.graph.gate_request(node_name, self.model)
            except GraphError as exc:
                return self._fail(node_name, exc)
            return self._suspend_at_gate(node_name, request, visit=claim.step)
        return self._run_node(node_name)

    def _run_node(self, node_name: str) -> str:
        claim, node = self.claim, self.graph.nodes[node_name]
        # A node resumed after its gate keeps the visit it started (its journal, its interrupt
        # answer); otherwise the visit is the step it starts from, the same after a crash.
        visit = claim.visit_step if self.approved_node == node_name else claim.step
        journal = LazyJournal(claim.run_id, visit)
        spend = Spend(counted=frozenset(claim.spend_counted) if visit == claim.visit_step else frozenset())
        attempt = 0
        started = time.perf_counter()
        while True:
            attempt += 1
            ctx = NodeContext(
                run=self.info, node=node_name, visit=visit, attempt=attempt, journal=journal,
                spend_so_far=spend, settings=node.settings, replay=self.replay, allowance=self.allowance,
            )
            try:
                update = node.fn(self.model, ctx)
                break
            except Interrupt as interrupt:
                # The calls made so far are counted now (the run may be rejected or cancelled here
                # and never come back); run again after the decision, the node gets them back from
                # the journal and they are not counted twice.
                return self._suspend_at_gate(
                    node_name, interrupt.request, visit=visit, call_index=interrupt.call_index, spend=spend)
            except BudgetExceeded as exceeded:
                return self._suspend_over_budget(node_name, exceeded, visit=visit, spend=spend)
            except LeaseLost:
                raise
            except EngineUnavailable as exc:
                exc.node = node_name  # for the note on the run (run_advance)
                raise  # not the node's doing: no retry of it is spent, and the run is not failed
            except Exception as exc:
                if node.retry.should_retry(exc, attempt):
                    delay = node.retry.delay(attempt)
                    self._record_retry(node_name, attempt, exc, delay)
                    journal = LazyJournal(claim.run_id, visit)
                    time.sleep(delay)
                    continue
                return self._fail(node_name, exc, attempts=attempt, spend=spend, visit=visit)
        duration_ms = (time.perf_counter() - started) * 1000
        try:
            return self._commit_node(node_name, update, visit, attempt, duration_ms, spend)
        except (StateError, GraphError) as exc:
            return self._fail(node_name, exc, attempts=attempt, spend=spend, visit=visit)

    def _commit_node(self, node_name: str, update: Any, visit: int, attempt: int, duration_ms: float,
                     spend: Spend) -> str:
        claim, graph = self.claim, self.graph
        if isinstance(update, BaseModel):
            update = update.model_dump(mode="json", exclude_unset=True)
        if update is None:
            update = {}
        if not isinstance(update, dict):
            raise StateError(
                f"node {node_name!r} returned {type(update).__name__}; return a dict of the state fields it changes."
            )
        unknown = [key for key in update if key not in graph.state.model_fields]
        if unknown:
            raise StateError(
                f"node {node_name!r} returned fields {unknown} that the state schema "
                f"{graph.state.__name__} does not declare; add them to the schema or drop them."
            )
        encoded = check_serializable(node_name, update)
        candidate = dict(self.tracker.values)
        for key, value in update.items():
            if graph.reducers.get(key) == "append":
                candidate[key] = list(candidate.get(key) or []) + (value if isinstance(value, list) else [value])
            else:
                candidate[key] = value
        try:
            model = graph.state.model_validate(candidate)
        except ValidationError as exc:
            raise schema_error(node_name, exc) from None
        next_node = graph.next_after(node_name, model)
        state_hash_before = self.tracker.state_hash()
        delta = self.tracker.apply(update, encoded, graph.reducers)
        self.model = model
        step = claim.step + 1
        state_hash = self.tracker.state_hash()
        visits = {**claim.visits, node_name: claim.visits.get(node_name, 0) + 1}
        node = graph.nodes[node_name]
        looping = (next_node, state_hash) in self.seen and next_node != END
        status, reason, item = "running", "", None
        if node.interrupt_after:
            # Asked even when the node was the last (its output is what the person approves; the
            # decision then completes or rejects the run), and before the loop guard: the guard's
            # item is decided by engineers, and approving it would move on past this node's
            # reviewers. A loop through a gate asks a person on every lap anyway.
            status, reason = "suspended", "gate"
            item = self._item(step, node_name, "gate", graph.gate_request(node_name, model), after=True)
        elif next_node == END:
            status = "completed"
        elif looping:
            status, reason = "suspended", "loop_guard"
            item = self._item(step, next_node, "loop_guard", self._guard_request(
                next_node, "the state repeated: this node was reached before with exactly the same state"))
        delta_json = delta.to_json()
        # Salted like the output (append_step): the state hash is a plain digest of the state's
        # values, so a guessed state (an email address and little else) could be confirmed against it.
        self.pending_ledger.append(claim.ledger.append_step(
            step=step, salt=claim.salt, node=node_name, attempt=attempt, state_hash=state_hash_before,
            delta=delta_json, next=next_node, models=sorted(spend.models), input_tokens=spend.input_tokens,
            output_tokens=spend.output_tokens, cost=str(spend.cost), duration_ms=round(duration_ms, 3)))
        if item is not None:
            self._ledger("gate_entered" if reason == "gate" else "loop_guard",
                         {"node": item["node"], "action": item["action"], "kind": item["kind"]}, step=step)
        if status == "completed":
            self._ledger("run_completed", {"steps": step}, step=step)
        checkpoint = {
            "node": node_name, "source": "node", "delta": delta_json,
            "snapshot": self.tracker.snapshot() if self.tracker.wants_snapshot(step) else None,
            "state_hash": state_hash, "actor_id": None, "duration_ms": duration_ms,
            "input_tokens": spend.input_tokens, "output_tokens": spend.output_tokens, "cost": spend.cost,
            "attempt": attempt, "meta": "{}",
        }
        change = RunChange(
            step=step, status=status, next_node=next_node if next_node != END else "", visit_step=step,
            suspended_reason=reason, diverged_at_step=self._divergence(step), **spend.run_totals(),
        )
        try:
            self._commit(change, checkpoint=checkpoint, review_item=item)
        except LeaseLost:
            self._rollback_ledger()
            raise
        self.seen.add((next_node, state_hash))
        claim.step, claim.next_node, claim.visit_step, claim.visits = step, change.next_node, step, visits
        claim.spend_counted = []  # as the commit set the row's: the next visit has counted nothing yet
        self.approved_node = None
        return "running" if status == "running" else status

    def _divergence(self, step: int) -> int | None:
        if self.replay is not None and self.replay.diverged and self.diverged_at is None:
            self.diverged_at = step
            return step
        return None

    # --- suspensions ------------------------------------------------------------------------------
    def _item(self, step: int, node: str, kind: str, request: GateRequest,
              call_index: int | None = None, visit: int | None = None, after: bool = False) -> dict[str, Any]:
        body = request.model_dump(mode="json")
        body["_gate"] = {"call_index": call_index, "visit": visit, "kind": kind, "after": after}
        if kind == "gate" and not self.graph.takes_response(node, dynamic=call_index is not None):
            body["allowed"] = [d for d in body["allowed"] if d != "respond"]
        return {
            "step": step, "node": node, "kind": kind, "workflow": self.graph.name, "action": request.action[:200],
            "summary": _summary(request), "risk": request.risk, "group": request.reviewer_group,
            "required": max(1, request.required_approvals), "request": dumps(body),
            "due_seconds": request.due_in_seconds,
        }

    def _guard_request(self, node: str, why: str) -> GateRequest:
        return GateRequest(
            action="continue_looping_run",
            description=f"**Loop guard** stopped this run before `{node}`: {why}. "
                        "Approve to let it continue, or reject to end it.",
            allowed=["approve", "reject"], risk="high", reviewer_group="engineer",
        )

    def _suspend(self, node_name: str, *, reason: str, item: dict[str, Any], ledger_kind: str,
                 ledger_payload: dict[str, Any], meta: dict[str, Any], visit: int, spend: Spend | None = None) -> str:
        """Commit a suspension: a "gate" checkpoint (state unchanged), the spend of the calls the
        node made before it was suspended, the ledger entry and the review item, in one statement."""
        spend = spend or Spend()
        self._ledger(ledger_kind, ledger_payload, step=item["step"])
        checkpoint = {
            "node": node_name, "source": "gate", "delta": "{}", "snapshot": None,
            "state_hash": self.tracker.state_hash(), "actor_id": None, "duration_ms": 0,
            "input_tokens": spend.input_tokens, "output_tokens": spend.output_tokens, "cost": spend.cost,
            "attempt": 1, "meta": dumps(meta),
        }
        change = RunChange(step=item["step"], status="suspended", suspended_reason=reason,
                           next_node=node_name, visit_step=visit, spend_counted=spend.counted_after(),
                           **spend.run_totals())
        try:
            self._commit(change, checkpoint=checkpoint, review_item=item)
        except LeaseLost:
            self._rollback_ledger()
            raise
        return "suspended"

    def _suspend_at_gate(self, node_name: str, request: GateRequest, *, visit: int,
                         call_index: int | None = None, spend: Spend | None = None) -> str:
        """Suspend before a node (static gate) or inside it (ctx.interrupt, `call_index` set)."""
        item = self._item(self.claim.step + 1, node_name, "gate", request, call_index=call_index, visit=visit)
        return self._suspend(
            node_name, reason="gate", item=item, ledger_kind="gate_entered", visit=visit,
            ledger_payload={"node": node_name, "action": request.action, "dynamic": call_index is not None,
                            "request": salted_digest(item["request"], self.claim.salt)},
            meta={"gate": request.action, "visit": visit, "call_index": call_index},
            spend=spend,
        )

    def _suspend_over_budget(self, node_name: str, exceeded: BudgetExceeded, *, visit: int, spend: Spend) -> str:
        """A call's maximum cost did not fit a budget (orchestrator.budgets): the provider was not
        called. Suspend with an inbox item for admins; approving (after raising the cap) re-runs this
        node in the same visit, so the calls it already made come back from the journal, unpaid."""
        facts = exceeded.as_dict()
        request = GateRequest(
            action="raise_budget_cap",
            description=(
                f"**Budget exceeded**: budget *{exceeded.budget}* (cap {money(exceeded.cap)}, spent "
                f"{money(exceeded.spent)}, held by running jobs {money(exceeded.reserved)}) cannot cover the "
                f"next call of node `{node_name}`, which may cost up to {money(exceeded.max_cost)} "
                f"({exceeded.model}). Raise the cap (Costs → Budgets), then approve to resume; "
                "reject to end the run."
            ),
            allowed=["approve", "reject"], risk="high", reviewer_group="admin",
        )
        item = self._item(self.claim.step + 1, node_name, "budget_exceeded", request, visit=visit)
        item["request"] = dumps({**json.loads(item["request"]), "budget": facts})
        return self._suspend(node_name, reason="budget_exceeded", item=item, ledger_kind="budget_exceeded",
                             ledger_payload={"node": node_name, **facts}, visit=visit,
                             meta={"budget_exceeded": facts, "visit": visit}, spend=spend)

    def _loop_guard(self, node_name: str, why: str) -> str:
        step = self.claim.step + 1
        item = self._item(step, node_name, "loop_guard", self._guard_request(node_name, why))
        # The guard may fire between a person's decision and the approved node's run: that approval,
        # and the visit it resumes (its journaled calls, its interrupt answer), wait behind the guard.
        carried = node_name if self.approved_node == node_name else None
        visit = self.claim.visit_step if carried else step
        return self._suspend(node_name, reason="loop_guard", item=item, ledger_kind="loop_guard",
                             ledger_payload={"node": node_name, "why": why},
                             meta={"loop_guard": why, "approved_node": carried, "visit": visit}, visit=visit,
                             spend=Spend(counted=frozenset(self.claim.spend_counted if carried else ())))

    # --- failures -----------------------------------------------------------------------------------
    def _record_retry(self, node_name: str, attempt: int, exc: BaseException, delay: float) -> None:
        self._ledger("retry", {"node": node_name, "attempt": attempt, "error": type(exc).__name__,
                               "delay_s": round(delay, 3)}, step=None)
        try:
            retry_commit(run_id=self.claim.run_id, lease_token=self.claim.token,
                         ledger_len_before=self.claim.ledger.length - 1, entry=self.pending_ledger[-1],
                         attempts=attempt, error=_error(node_name, exc, attempt, retrying=True))
        except LeaseLost:
            self._rollback_ledger()
            raise
        self.pending_ledger = []

    def _fail(self, node_name: str, exc: BaseException, *, attempts: int = 1, spend: Spend | None = None,
              visit: int | None = None) -> str:
        claim = self.claim
        if visit is None or spend is None:
            # Failing before its node ran (a gate's request builder, a retired node): the visit in
            # progress keeps its place and what it had counted.
            visit, spend = claim.visit_step, Spend(counted=frozenset(claim.spend_counted))
        error = _error(node_name, exc, attempts)
        log.warning("run %s failed at %s: %s", claim.thread_id, node_name, error["message"])
        self._ledger("node_failed", {"node": node_name, "error": type(exc).__name__, "attempts": attempts,
                                     "message": salted_digest(error["message"], claim.salt)}, step=claim.step)
        change = RunChange(
            step=claim.step, status="failed", next_node=node_name, visit_step=visit,
            spend_counted=spend.counted_after(), error=error, **spend.run_totals(),
        )
        try:
            self._commit(change)
        except LeaseLost:
            self._rollback_ledger()
            raise
        return "failed"

    def _finish_without_node(self) -> str:
        claim = self.claim
        self._ledger("run_completed", {"steps": claim.step}, step=claim.step)
        self._commit(RunChange(step=claim.step, status="completed", next_node="", visit_step=claim.visit_step))
        return "completed"


def _summary(request: GateRequest) -> str:
    """The item's one line (the inbox's): a text column cannot hold a NUL, and dropping it would show
    "ap@supplier.example" for "ap@supp\\0lier.example", so it is stored as U+2400 SYMBOL FOR NULL (␀):
    one visible character (the 500 keep their meaning) that reads as a NUL in the inbox, a notification or
    a webhook alike. Not _error's "\\0": that is text a model may well write itself (a C string, a regex),
    so a reviewer could not tell the two apart. The item page marks the NUL itself (⟨U+0000⟩)."""
    first_line = (request.description or "").strip().splitlines()[0] if request.description.strip() else ""
    return (first_line or request.action).replace("\x00", "\u2400")[:500]


def _error(node: str, exc: BaseException, attempts: int, *, retrying: bool = False) -> dict[str, Any]:
    return {
        "node": node,
        "type": type(exc).__name__,
        "message": str(exc).replace("\x00", "\\0")[:2000],
        "attempts": attempts,
        "retrying": retrying,
        "traceback": "".join(traceback.format_exception(exc)).replace("\x00", "\\0")[-4000:],
    }


# Why a run waits although it is 'running' (a retrying error), fenced by the claim's token like
# any commit. The run keeps its status and its lease: when the lease lapses the reconciler queues
# it again, so a worker able to go on takes it (once the deployment or the database is fixed),
# and a broken one says so once a lease rather than in a tight loop.
_WAITING = """
UPDATE orchestrator_run SET error = %(error)s::jsonb, updated_at = statement_timestamp()
WHERE id = %(run)s AND lease_token = %(token)s AND status = 'running'
"""


def _workflow_unknown_here(claim: Claim, worker: str, lease: int, exc: UnknownWorkflow) -> str:
    """A worker deployed without the run's workflow: not the run's fault, so it is not failed. It
    waits, saying why on its page and in `runs show`, instead of a traceback per job."""
    _note_waiting(claim, node=claim.next_node, kind="UnknownWorkflow", message=(
        f"worker {worker} does not have workflow {claim.workflow!r} ({exc}); the run waits and is tried again every "
        f"{lease}s: give the workers the same GATEHOUSE_WORKFLOWS as the process that started it."))
    return "unknown_workflow"


def _fail_unstarted(claim: Claim, lease: int, exc: BaseException) -> str:
    """Fail a claimed run before any of its nodes runs (the execution's state was never built)."""
    execution = Execution.__new__(Execution)
    execution.claim, execution.lease_seconds, execution.pending_ledger = claim, lease, []
    return execution._fail(claim.next_node, exc)


def _note_waiting(claim: Claim, *, node: str, kind: str, message: str) -> None:
    """Say in the worker's log, and on the run (a retrying error), why the run waits."""
    log.warning("run %s: %s", claim.thread_id, message)
    error = {"node": node, "type": kind, "message": message, "attempts": 0, "retrying": True}
    try:
        execute_prepared(_WAITING, {"error": dumps(error), "run": claim.run_id, "token": claim.token})
    except Exception as exc:  # the database may be what failed; the lease lapses all the same
        log.warning("run %s: could not record why it waits (%s)", claim.thread_id, exc)


def run_advance(run_id: int, *, worker: str, lease_seconds: int | None = None) -> str:
    """Advance a run as far as it goes. Returns the final status, "noop" or "lease_lost"."""
    lease = lease_seconds or settings.GATEHOUSE_LEASE_SECONDS
    claim = run_claim(run_id, worker, lease)
    if claim is None:
        return "noop"
    try:
        graph = workflow_get(claim.workflow)
    except UnknownWorkflow as exc:
        return _workflow_unknown_here(claim, worker, lease, exc)
    except WorkflowModuleError as exc:
        # A broken workflow module deployed to this worker: not the run's fault either, so it waits
        # saying why (a crashed job per lease would say it only in the worker's log).
        _note_waiting(claim, node=claim.next_node, kind="WorkflowModuleError", message=(
            f"worker {worker} cannot load its workflows ({exc}); the run waits and is tried again every {lease}s"))
        return "unknown_workflow"
    if not versions_compatible(claim.graph_version, graph.version):
        return _fail_unstarted(claim, lease, GraphError(
            f"workflow {claim.workflow!r} changed incompatibly since this run started "
            f"(version {claim.graph_version} → {graph.version}). Retry it with "
            f"`python manage.py runs retry {claim.thread_id} --force-version` to run it on the new version."
        ))
    try:
        with lease_heartbeat(run_id, claim.token, worker, lease):
            # The code this worker runs may be a version other than the one in use (a deploy or a
            # revert since the run started): that is a ledger entry. Under the heartbeat, since
            # it may wait behind other system chain writers.
            workflow_version_seen(graph)
            try:
                execution = Execution(claim, graph, lease)
            except ValidationError as exc:
                # Left to raise, the job would crash on every lease with nothing said on the run.
                return _fail_unstarted(claim, lease, stored_state_error(claim.workflow, claim.step, exc))
            return execution.advance()
    except LeaseLost as exc:
        log.warning("%s", exc)
        return "lease_lost"
    except (EngineUnavailable, *TRANSIENT_DATABASE_ERRORS) as exc:
        # Postgres restarting, failing over or cancelling a statement: nothing the run did. What
        # committed stays committed; the rest is redone from there once the lease lapses.
        cause = (str(exc) if isinstance(exc, EngineUnavailable)
                 else f"a step commit failed ({type(exc).__name__}: {str(exc).strip()})")
        _note_waiting(claim, node=getattr(exc, "node", None) or claim.next_node, kind="EngineUnavailable",
                      message=f"{cause}; the run is taken up again from its last checkpoint when its lease lapses "
                              f"({lease}s)")
        return "engine_unavailable"
