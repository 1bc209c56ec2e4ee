"""Budget enforcement around every LLM call: reserve before, settle after, release on failure.

The flow for one call (orchestrator.context.NodeContext.llm), each step ONE prepared statement:
  1. `budget_reserve`, its own (asynchronously committed) transaction:
       a. find the budgets that apply (global, the run's workflow, its labels, per-run) and their
          usage rows for this period (periods are rows keyed by their UTC start date; missing rows
          are created by `gatehouse_budget_usage_ids` and the statement runs once more);
       b. lock those rows in ascending id order — every writer locks in that order, so concurrent
          workers cannot deadlock — and check `spent + reserved + max_cost <= cap` on each, seeing
          the latest committed values; check the worker still holds the run's lease;
       c. if all fit, add max_cost to `reserved` on all of them and insert the reservation row
          (run, lease token, expiry); otherwise change nothing and name the first budget that
          does not fit → `BudgetExceeded`, and the provider is never called.
     Because the check and the increment happen under the row locks, the sum of what concurrent
     runs hold can never pass the cap: overshoot is impossible as long as a call costs no more
     than its reservation (the maximum: the prompt estimate with a margin + every output token).
  2. `budget_settle`: delete the reservation, move its amount out of `reserved` and the real cost
     into `spent`, insert the attributed `SpendEvent` — and, for a completed call, write the call's
     journal row, so settling adds no round trip to the one the journal needs anyway. Rows that
     passed a soft threshold are claimed afterwards (cost_alerts.thresholds_claim, rare). A
     cut-off stream settles what was received.
  3. `budget_release` — on any other error the reservation is deleted and its amount freed.
  4. Crash or cancel: `budgets_release_expired` (a reconciler pass) frees reservations whose run
     is no longer running under the same lease token (the worker died and the run was re-queued,
     or the run was cancelled), and any past its expiry.

A settle that finds its reservation already released (a fenced worker whose call still returned)
books the cost anyway: the provider charged it.
"""

from __future__ import annotations

import importlib
import math
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection

from orchestrator.commit import LeaseLost
from orchestrator.journal import journal_insert_sql
from orchestrator.llm import LLMRequest, LLMResponse, Price, cost_of, estimate_request_tokens
from orchestrator.llm.env import timeout_seconds
from orchestrator.prepared import ASYNC_COMMIT, async_commit_param, execute_prepared
from orchestrator.state import dumps

# Which budgets apply to a call and which period row of each: one text, shared with the SQL functions
# that create missing usage rows and release holds (migration 0004; a migration's text never changes).
_scope_sql = importlib.import_module("orchestrator.migrations.0004_budget_functions")
APPLICABLE, PERIOD_START, RUN_KEY = _scope_sql.APPLICABLE, _scope_sql.PERIOD_START, _scope_sql.RUN_KEY

# The prompt estimate is a heuristic (orchestrator.llm.tokens, within ~30% of real tokenizers):
# reserve for a prompt this much longer so a call never costs more than it held.
INPUT_MARGIN = 1.3
INPUT_SLACK_TOKENS = 16


def money(amount: Decimal) -> str:
    """$1.00, $2.50, $0.0003: cents for round amounts, every significant digit down to a millionth."""
    text = f"{Decimal(amount).quantize(Decimal('0.000001')):f}".rstrip("0")
    whole, _, frac = text.partition(".")
    return f"${whole}.{frac.ljust(2, '0')}"


class BudgetExceeded(Exception):  # noqa: N818 - a control-flow signal caught by the executor
    """The call's maximum cost does not fit in a budget: the run suspends as budget_exceeded."""

    def __init__(self, *, budget: str, cap: Decimal, spent: Decimal, reserved: Decimal, max_cost: Decimal,
                 model: str, node: str) -> None:
        self.budget, self.cap, self.spent, self.reserved = budget, cap, spent, reserved
        self.max_cost, self.model, self.node = max_cost, model, node
        super().__init__(
            f'budget "{budget}" cannot cover this call: cap {money(cap)}, spent {money(spent)}, '
            f"held by calls in flight {money(reserved)}, this call may cost up to {money(max_cost)} ({model})"
        )

    def as_dict(self) -> dict[str, str]:
        return {"budget": self.budget, "cap": str(self.cap), "spent": str(self.spent),
                "reserved": str(self.reserved), "max_cost": str(self.max_cost), "model": self.model,
                "node": self.node}


@dataclass
class CallRef:
    """Who makes the call: everything attribution and budget matching need."""

    run_id: int
    lease_token: int
    workflow: str
    labels: dict[str, str]
    node: str
    visit: int
    call_index: int
    attempt: int
    model: str

    @property
    def label_pairs(self) -> list[str]:
        return [f"{k}={v}" for k, v in sorted(self.labels.items())]


@dataclass
class Hold:
    token: str
    amount: Decimal
    call: CallRef


def max_cost(price: Price, request: LLMRequest) -> Decimal:
    """What to reserve: the prompt estimate with a safety margin, uncached, plus every output token."""
    prompt = math.ceil(estimate_request_tokens(request) * INPUT_MARGIN) + INPUT_SLACK_TOKENS
    return cost_of(price, prompt, request.max_tokens, 0)


def _ttl_seconds() -> float:
    # Longer than any call can take; only a backstop — a dead worker's hold goes when its run is re-claimed.
    return timeout_seconds() * 2 + settings.GATEHOUSE_LEASE_SECONDS + 30


def _in_sql(fragment: str) -> str:
    # The applicability and period expressions are shared with the SQL functions (migration 0004),
    # where they read plpgsql arguments; here the same text reads statement parameters.
    return (fragment.replace("p_workflow", "%(workflow)s").replace("p_labels", "%(labels)s::text[]")
            .replace("p_run", "%(run)s"))


_USAGE_JOIN = _in_sql(f"""
  FROM orchestrator_budget b JOIN orchestrator_budgetusage u
    ON u.budget_id = b.id AND u.period_start = {PERIOD_START} AND u.run_key = {RUN_KEY}
  WHERE {APPLICABLE}""")

# Reserve, as one statement (one round trip, planned once per connection):
#   app      locks the applicable usage rows in id order (LockRows above the Sort) and reads their
#            latest committed spent/reserved;
#   verdict  is read by everything below as an InitPlan, so every lock is taken before any row is
#            written: are all applicable budgets' period rows there, does the call fit each one,
#            does this worker still hold the run's lease (fencing: a stale worker gets no hold);
#   held/hold add the amount to every row and insert the reservation, only on a yes.
# Async commit, as the holds always were (migration 0006): a hold lost in a server crash only
# frees room that the crashed worker's call could not settle anyway.
_RESERVE = f"""
WITH lease AS (
  -- A locking read (it does not block the claim's non-key UPDATE): it sees the newest committed
  -- run row, so a claim that committed while this statement waited for usage-row locks counts.
  SELECT 1 FROM orchestrator_run
  WHERE id = %(run)s AND lease_token = %(lease)s AND status = 'running' FOR KEY SHARE
), app AS (
  SELECT u.id, b.name, b.cap, u.spent, u.reserved{_USAGE_JOIN}
  ORDER BY u.id FOR UPDATE OF u
), verdict AS (
  SELECT (SELECT count(*) FROM app) = (SELECT count(*) FROM orchestrator_budget b WHERE {_in_sql(APPLICABLE)})
           AS complete,
         (SELECT coalesce(array_agg(a.id ORDER BY a.id), '{{}}') FROM app a) AS ids,
         (SELECT json_build_array(a.name, a.cap, a.spent, a.reserved) FROM app a
           WHERE a.spent + a.reserved + %(amount)s > a.cap ORDER BY a.id LIMIT 1) AS blocked,
         EXISTS (SELECT 1 FROM lease) AS leased
), held AS (
  UPDATE orchestrator_budgetusage u SET reserved = u.reserved + %(amount)s, updated_at = statement_timestamp()
  WHERE u.id = ANY((SELECT ids FROM verdict)::bigint[]) AND (SELECT complete AND leased AND blocked IS NULL FROM verdict)
), hold AS (
  INSERT INTO orchestrator_budgetreservation
    (token, run_id, lease_token, node, visit, call_index, attempt, model, amount, usage_ids, created_at, expires_at)
  SELECT %(token)s, %(run)s, %(lease)s, %(node)s, %(visit)s, %(call)s, %(attempt)s, %(model)s, %(amount)s, v.ids,
         statement_timestamp(), statement_timestamp() + %(ttl)s * interval '1 second'
  FROM verdict v WHERE v.complete AND v.leased AND v.blocked IS NULL
)
SELECT v.complete, v.leased, v.blocked FROM verdict v
WHERE {ASYNC_COMMIT}
"""

# Settle, as one statement: take the hold (or, if it was already released, the applicable rows),
# lock the usage rows in id order before writing any (the InitPlan over `locked`), move the hold
# out of `reserved` and the real cost into `spent`, insert the attributed spend row, and report
# the node's spend so far in this run (anomaly check) and which rows crossed a soft threshold.
# With an LLM call's journal row appended (ctx.llm), the call's write-ahead record and its
# settlement are one durable commit.
_SETTLE = """
WITH d AS (
  DELETE FROM orchestrator_budgetreservation WHERE token = %(token)s RETURNING usage_ids, amount
), hold AS (
  SELECT CASE WHEN EXISTS (SELECT 1 FROM d) THEN (SELECT usage_ids FROM d)
              ELSE gatehouse_budget_usage_ids(%(run)s, %(workflow)s, %(labels)s::text[]) END AS ids,
         coalesce((SELECT amount FROM d), 0) AS amount
), locked AS (
  SELECT u.id FROM orchestrator_budgetusage u WHERE u.id = ANY((SELECT ids FROM hold)::bigint[]) ORDER BY u.id FOR UPDATE
), upd AS (
  UPDATE orchestrator_budgetusage u
     SET spent = u.spent + %(cost)s, reserved = u.reserved - (SELECT amount FROM hold),
         updated_at = statement_timestamp()
  FROM orchestrator_budget b
  WHERE u.id = ANY((SELECT array_agg(id) FROM locked)::bigint[]) AND b.id = u.budget_id
  RETURNING u.id, u.spent, u.alerted_pct, b.cap, b.soft_thresholds
), ev AS (
  INSERT INTO orchestrator_spendevent
    (run_id, workflow, node, visit, call_index, attempt, labels, provider, model, input_tokens, output_tokens,
     cached_tokens, cost, reserved, latency_ms, partial, unpriced, created_at)
  SELECT %(run)s, %(workflow)s, %(node)s, %(visit)s, %(call)s, %(attempt)s, %(labels_json)s::jsonb, %(provider)s,
         %(model)s, %(input)s, %(output)s, %(cached)s, %(cost)s, h.amount, %(latency)s, %(partial)s, %(unpriced)s,
         statement_timestamp()
  FROM hold h
  RETURNING 1
){journal_cte}
SELECT CASE WHEN %(want_total)s  -- only when the node has a norm to compare with (cost_alerts)
            THEN (SELECT coalesce(sum(s.cost), 0) FROM orchestrator_spendevent s
                   WHERE s.run_id = %(run)s AND s.node = %(node)s) + %(cost)s END,  -- the new row is not visible yet
       (SELECT array_agg(upd.id) FROM upd
         WHERE upd.cap > 0 AND EXISTS (
           SELECT 1 FROM jsonb_array_elements_text(upd.soft_thresholds) AS t(v)
           WHERE t.v::int > upd.alerted_pct AND upd.spent * 100 >= t.v::numeric * upd.cap)),
       {journal_count}
"""
_SETTLE_ONLY = _SETTLE.format(journal_cte="", journal_count="1")
_SETTLE_AND_JOURNAL = _SETTLE.format(journal_cte=f", j AS (\n{journal_insert_sql('j_')}\n)",
                                     journal_count="(SELECT count(*) FROM j)")


def budget_reserve(*, call: CallRef, amount: Decimal) -> Hold:
    """Hold `amount` on every applicable budget, or raise BudgetExceeded and hold nothing.

    Raises LeaseLost if the run's lease moved on to another worker: a fenced worker must not call.
    """
    token = secrets.token_hex(16)
    params = {
        "token": token, "run": call.run_id, "lease": call.lease_token, "workflow": call.workflow,
        "labels": call.label_pairs, "node": call.node, "visit": call.visit, "call": call.call_index,
        "attempt": call.attempt, "model": call.model, "amount": amount, "ttl": _ttl_seconds(),
        "async_commit": async_commit_param(),
    }
    for attempt in (1, 2):
        complete, leased, blocked = execute_prepared(_RESERVE, params)
        if not leased:
            raise LeaseLost(f"run {call.run_id}: not running under lease token {call.lease_token} any more;"
                            " no budget hold, no call")
        if complete or attempt == 2:
            break
        # A new budget, day or month (or run) has no usage row yet: create the missing rows (in
        # budget id order, idempotently) and try once more.
        with connection.cursor() as cursor:
            cursor.execute("SELECT gatehouse_budget_usage_ids(%s, %s, %s::text[])",
                           [call.run_id, call.workflow, call.label_pairs])
    if blocked is not None:
        name, cap, spent, reserved = blocked
        raise BudgetExceeded(budget=name, cap=Decimal(str(cap)), spent=Decimal(str(spent)),
                             reserved=Decimal(str(reserved)), max_cost=amount, model=call.model, node=call.node)
    if not complete:
        raise RuntimeError(f"run {call.run_id}: budget usage rows could not be created for this call")
    return Hold(token=token, amount=amount, call=call)


def budget_settle(*, hold: Hold, response: LLMResponse, cost: Decimal, latency_ms: float,
                  partial: bool = False, unpriced: bool = False, journal: dict[str, Any] | None = None) -> None:
    """Turn the hold into real spend and record the call (attribution), in one transaction.

    `journal`: the call's journal row (orchestrator.journal.journal_params), written by the same
    statement; raises LeaseLost after settling if the lease moved on (the provider billed the
    call either way, so its spend is booked).
    """
    call = hold.call
    params = {
        "token": hold.token, "run": call.run_id, "workflow": call.workflow, "labels": call.label_pairs,
        "labels_json": dumps(call.labels), "node": call.node, "visit": call.visit, "call": call.call_index,
        "attempt": call.attempt, "provider": response.provider, "model": response.model or call.model,
        "input": response.input_tokens, "output": response.output_tokens, "cached": response.cached_tokens,
        "cost": cost, "latency": float(latency_ms), "partial": partial, "unpriced": unpriced,
    }
    from orchestrator import cost_alerts

    params["want_total"] = cost_alerts.anomaly_possible(run_id=call.run_id, workflow=call.workflow, node=call.node)
    if journal is not None:
        params.update({f"j_{key}": value for key, value in journal.items()})
    node_total, crossed, journaled = execute_prepared(_SETTLE_AND_JOURNAL if journal is not None else _SETTLE_ONLY,
                                                      params)
    alert_ids = cost_alerts.thresholds_claim(usage_ids=crossed, run_id=call.run_id, node=call.node) if crossed else []
    if node_total is not None:
        anomaly = cost_alerts.anomaly_check(run_id=call.run_id, workflow=call.workflow, node=call.node,
                                            node_total=node_total)
        if anomaly is not None:
            alert_ids.append(anomaly)
    if alert_ids:
        cost_alerts.alerts_deliver(ids=alert_ids)
    if not journaled:
        raise LeaseLost(f"run {call.run_id}: lost the lease while journaling a call of node {call.node!r}")


def budget_release(*, hold: Hold) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT gatehouse_budget_release(%s)", [[hold.token]])


_STALE = """
SELECT r.token FROM orchestrator_budgetreservation r
LEFT JOIN orchestrator_run run ON run.id = r.run_id
WHERE r.expires_at < statement_timestamp() OR run.id IS NULL OR run.status <> 'running'
   OR run.lease_token <> r.lease_token
"""


def budgets_release_expired() -> int:
    """Reconciler pass: free the holds of calls that can no longer settle (crash, cancel, expiry)."""
    with connection.cursor() as cursor:
        cursor.execute(_STALE)
        tokens = [row[0] for row in cursor.fetchall()]
        if not tokens:
            return 0
        cursor.execute("SELECT gatehouse_budget_release(%s)", [tokens])
        return cursor.fetchone()[0]


def budgets_release_for_run(*, run_id: int) -> int:
    """Free every hold of one run (after it was cancelled or ended)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT token FROM orchestrator_budgetreservation WHERE run_id = %s", [run_id])
        tokens = [row[0] for row in cursor.fetchall()]
        if not tokens:
            return 0
        cursor.execute("SELECT gatehouse_budget_release(%s)", [tokens])
        return cursor.fetchone()[0]
