"""The step commit: one SQL statement, so one transaction and one round trip per node transition.

Order inside the statement matters and is enforced by data dependencies:
  1. UPDATE the run row, guarded by the lease token (fencing), status 'running' and the ledger
     length the writer expects. If a newer worker took the lease, or the run was cancelled, this
     matches zero rows and nothing else below is written: a stale worker's commit is rejected.
  2. INSERT the checkpoint (immutable), selecting from (1), so it exists only if (1) matched.
  3. INSERT the ledger entries (hash-chained by the writer), likewise from (1).
  4. INSERT the review item when the transition suspends at a gate, likewise from (1).
The LLM journal rows were written ahead, as each call returned (see orchestrator.context), so a
crash between a call and this commit never pays for the call twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from orchestrator.prepared import execute_prepared, prefixed
from orchestrator.state import dumps


class LeaseLost(RuntimeError):
    """This worker no longer owns the run: its commit was rejected and it must stop."""


@dataclass
class RunChange:
    step: int
    status: str
    next_node: str
    visit_step: int
    suspended_reason: str = ""
    error: dict[str, Any] | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cost: Decimal = Decimal(0)
    llm_calls: int = 0
    guard_base_step: int | None = None
    diverged_at_step: int | None = None
    spend_counted: list[int] | None = None  # None: a new visit, nothing of it counted yet


@dataclass
class Transition:
    run_id: int
    lease_token: int
    ledger_len_before: int
    run: RunChange
    ledger: list[dict[str, Any]] = field(default_factory=list)
    checkpoint: dict[str, Any] | None = None
    review_item: dict[str, Any] | None = None


_RUN_UPDATE = """
UPDATE orchestrator_run SET
  step = %(step)s, status = %(status)s, suspended_reason = %(suspended_reason)s,
  next_node = %(next_node)s, visit_step = %(visit_step)s,
  spend_counted = COALESCE(%(spend_counted)s::int[], '{}'),
  attempts = 0, error = %(error)s::jsonb,
  input_tokens = input_tokens + %(input_tokens)s, output_tokens = output_tokens + %(output_tokens)s,
  cached_tokens = cached_tokens + %(cached_tokens)s, cost = cost + %(cost)s,
  llm_calls = llm_calls + %(llm_calls)s,
  guard_base_step = COALESCE(%(guard_base_step)s, guard_base_step),
  diverged_at_step = COALESCE(diverged_at_step, %(diverged_at_step)s),
  ledger_head = %(ledger_head)s, ledger_len = %(ledger_len)s,
  -- The lease is extended by the worker's heartbeat, not here: leaving the indexed column
  -- unchanged lets Postgres update the run row in place (HOT), without touching its indexes.
  lease_expires_at = CASE WHEN %(status)s = 'running' THEN lease_expires_at END,
  lease_owner = CASE WHEN %(status)s = 'running' THEN lease_owner ELSE '' END,
  finished_at = CASE WHEN %(status)s IN ('completed', 'rejected', 'failed', 'cancelled')
                     THEN statement_timestamp() END,
  updated_at = statement_timestamp()
WHERE id = %(run_id)s AND lease_token = %(lease_token)s AND status = 'running'
  AND ledger_len = %(ledger_len_before)s
RETURNING id, thread_id
"""

# Most transitions are a plain step: the run keeps running, nothing was spent, no guard or fork
# bookkeeping changes. Their UPDATE sets only what moves; the constants are what _RUN_UPDATE would
# compute for such a step. Fewer parameters to send and parse, fewer expressions per step.
_RUN_STEP = """
UPDATE orchestrator_run SET
  step = %(step)s, next_node = %(next_node)s, visit_step = %(visit_step)s,
  suspended_reason = '', attempts = 0, error = NULL, finished_at = NULL, spend_counted = '{}',
  ledger_head = %(ledger_head)s, ledger_len = %(ledger_len)s, updated_at = statement_timestamp()
WHERE id = %(run_id)s AND lease_token = %(lease_token)s AND status = 'running'
  AND ledger_len = %(ledger_len_before)s
RETURNING id, thread_id
"""

_CHECKPOINT_INSERT = """
INSERT INTO orchestrator_checkpoint
  (run_id, step, node, source, delta, snapshot, next_node, state_hash, actor_id, created_at,
   duration_ms, input_tokens, output_tokens, cost, attempt, meta)
SELECT id, %(step)s, %(cp_node)s, %(cp_source)s, %(cp_delta)s, %(cp_snapshot)s, %(next_node)s,
       %(cp_state_hash)s, %(cp_actor_id)s, statement_timestamp(), %(cp_duration_ms)s,
       %(cp_input_tokens)s, %(cp_output_tokens)s, %(cp_cost)s, %(cp_attempt)s, %(cp_meta)s
FROM r
"""

_LEDGER_FIELDS = ("kind", "step", "actor", "at", "payload")
# Parameter names, built once rather than formatted on every step.
_LEDGER_KEYS: list[tuple[tuple[str, str], ...]] = []


def _ledger_keys(i: int) -> tuple[tuple[str, str], ...]:
    while len(_LEDGER_KEYS) <= i:
        n = len(_LEDGER_KEYS)
        _LEDGER_KEYS.append(tuple((f"l{n}_{f}", f) for f in (*_LEDGER_FIELDS, "hash")))
    return _LEDGER_KEYS[i]


def _ledger_insert(count: int) -> str:
    # Plain parameters (one row per entry) rather than a JSON array unpacked by
    # jsonb_to_recordset: no JSON parsing on the server, and the plan is fixed per entry count.
    # What the statement already has is not sent again: the chain is the run's thread id, entry i
    # is number ledger_len_before + i + 1, each entry's prev is the hash before it, and the last
    # entry's hash is the run's new ledger head. The run id comes from (1), so entries are
    # written only if the guarded UPDATE matched.
    rows = []
    for i in range(count):
        prev = "%(l0_prev)s" if i == 0 else f"%(l{i - 1}_hash)s"
        digest = "%(ledger_head)s" if i == count - 1 else f"%(l{i}_hash)s"
        rows.append(
            f"SELECT r.id, r.thread_id, %(ledger_len_before)s::int + {i + 1}, %(l{i}_kind)s, %(l{i}_step)s::int,"
            f" %(l{i}_actor)s, %(l{i}_at)s, %(l{i}_payload)s, {prev}, {digest}, false FROM r"
        )
    return (
        "INSERT INTO audit_ledgerentry (run_id, chain, seq_run, kind, step, actor, at, payload, prev, hash, redacted)\n"
        + "\nUNION ALL\n".join(rows)
    )


_REVIEW_INSERT = """
INSERT INTO review_reviewitem
  (run_id, step, node, kind, status, workflow, action, summary, risk, reviewer_group,
   required_approvals, approvals, request, created_at, due_at, decision, reason, response)
SELECT id, %(ri_step)s, %(ri_node)s, %(ri_kind)s, 'pending', %(ri_workflow)s, %(ri_action)s,
       %(ri_summary)s, %(ri_risk)s, %(ri_group)s, %(ri_required)s, 0, %(ri_request)s,
       statement_timestamp(),
       CASE WHEN %(ri_due_seconds)s::int IS NULL THEN NULL
            ELSE statement_timestamp() + %(ri_due_seconds)s::int * interval '1 second' END,
       '', '', ''
FROM r
"""

_SQL_CACHE: dict[tuple[bool, bool, int, bool], str] = {}


def _sql(has_checkpoint: bool, ledger_entries: int, has_item: bool, plain: bool = False) -> str:
    key = (plain, has_checkpoint, ledger_entries, has_item)
    if key not in _SQL_CACHE:
        parts = [f"WITH r AS ({_RUN_STEP if plain else _RUN_UPDATE})"]
        if has_checkpoint:
            parts.append(f", c AS ({_CHECKPOINT_INSERT})")
        if ledger_entries:
            parts.append(f", l AS ({_ledger_insert(ledger_entries)})")
        if has_item:
            parts.append(f", i AS ({_REVIEW_INSERT})")
        parts.append("SELECT count(*) FROM r")
        _SQL_CACHE[key] = "\n".join(parts)
    return _SQL_CACHE[key]


def _is_plain(change: RunChange) -> bool:
    return (change.status == "running" and not change.suspended_reason and change.error is None
            and not (change.input_tokens or change.output_tokens or change.cached_tokens or change.cost
                     or change.llm_calls)
            and change.guard_base_step is None and change.diverged_at_step is None)


_RETRY = f"""
WITH r AS (
  UPDATE orchestrator_run SET attempts = %(attempts)s, error = %(error)s::jsonb, ledger_head = %(ledger_head)s,
         ledger_len = %(ledger_len)s, updated_at = statement_timestamp()
  WHERE id = %(run_id)s AND lease_token = %(lease_token)s AND status = 'running'
    AND ledger_len = %(ledger_len_before)s
  RETURNING id, thread_id
), l AS ({_ledger_insert(1)})
SELECT count(*) FROM r
"""


def retry_commit(*, run_id: int, lease_token: int, ledger_len_before: int, entry: dict[str, Any], attempts: int,
                 error: dict[str, Any]) -> None:
    """Record a failed attempt that will be retried: the run's attempt count and error, and the
    `retry` ledger entry, in one statement (a crash can never leave the run's ledger head pointing
    at an entry that was not written). Raises LeaseLost if this writer was fenced off."""
    # The transition's parameter building (and its ledger checks); only the guard and ledger ones are used.
    _sql_unused, params = transition_statement(Transition(
        run_id=run_id, lease_token=lease_token, ledger_len_before=ledger_len_before,
        run=RunChange(step=0, status="running", next_node="", visit_step=0), ledger=[entry]))
    params.update(attempts=attempts, error=dumps(error))
    (matched,) = execute_prepared(_RETRY, params)
    if matched != 1:
        raise LeaseLost(f"run {run_id}: lost the lease while recording a retry")


def transition_statement(t: Transition) -> tuple[str, dict[str, Any]]:
    """The step commit's SQL and parameters for a transition (see the module docstring)."""
    if not t.ledger:
        raise ValueError("every transition writes at least one ledger entry")
    change = t.run
    params: dict[str, Any] = {
        "run_id": t.run_id,
        "lease_token": t.lease_token,
        "ledger_len_before": t.ledger_len_before,
        "step": change.step,
        "status": change.status,
        "suspended_reason": change.suspended_reason,
        "next_node": change.next_node,
        "visit_step": change.visit_step,
        "spend_counted": change.spend_counted,
        "error": dumps(change.error) if change.error is not None else None,
        "input_tokens": change.input_tokens,
        "output_tokens": change.output_tokens,
        "cached_tokens": change.cached_tokens,
        "cost": change.cost,
        "llm_calls": change.llm_calls,
        "guard_base_step": change.guard_base_step,
        "diverged_at_step": change.diverged_at_step,
        "ledger_head": t.ledger[-1]["hash"],
        "ledger_len": t.ledger_len_before + len(t.ledger),
    }
    if t.checkpoint is not None:
        prefixed("cp_", t.checkpoint, params)
    for i, entry in enumerate(t.ledger):
        # The statement numbers and links entries itself; a hash taken over another number or
        # predecessor would be stored under fields it does not cover, and would not verify.
        if entry["seq_run"] != t.ledger_len_before + i + 1:
            raise ValueError(f"ledger entry numbered {entry['seq_run']} where {t.ledger_len_before + i + 1} is next")
        if i and entry["prev"] != t.ledger[i - 1]["hash"]:
            raise ValueError(f"ledger entry {entry['seq_run']} does not link to the entry before it")
        for name, key in _ledger_keys(i):
            params[name] = entry[key]
    params["l0_prev"] = t.ledger[0]["prev"]
    if t.review_item is not None:
        params.update({f"ri_{k}": v for k, v in t.review_item.items()})
    return _sql(t.checkpoint is not None, len(t.ledger), t.review_item is not None, _is_plain(change)), params


def transition_commit(t: Transition) -> None:
    """Commit one transition atomically, or raise LeaseLost if this writer was fenced off."""
    sql, params = transition_statement(t)
    (matched,) = execute_prepared(sql, params)
    if matched != 1:
        raise LeaseLost(f"run {t.run_id}: lease token {t.lease_token} is no longer current; commit rejected")
