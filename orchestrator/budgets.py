"""Budget enforcement around every LLM call: reserve before, settle after, release on failure.

The flow for one call (orchestrator.context.NodeContext.llm):
  1. `budget_reserve` — ONE SQL function call (migration 0004) in its own transaction:
       a. find the budgets that apply (global, the run's workflow, its labels, per-run) and create
          this period's usage rows if missing (periods are rows keyed by their UTC start date);
       b. lock those rows in ascending id order — every writer locks in that order, so concurrent
          workers cannot deadlock — and check `spent + reserved + max_cost <= cap` on each, seeing
          the latest committed values;
       c. if all fit, add max_cost to `reserved` on all of them and insert the reservation row
          (run, lease token, expiry); otherwise change nothing and name the first budget that
          does not fit → `BudgetExceeded`, and the provider is never called.
     Because the check and the increment happen under the row locks, the sum of what concurrent
     runs hold can never pass the cap: overshoot is impossible as long as a call costs no more
     than its reservation (the maximum: the prompt estimate with a margin + every output token).
  2. `budget_settle` — one SQL function call: delete the reservation, move its amount out of
     `reserved` and the real cost into `spent`, claim newly crossed soft thresholds (once per
     period), and insert the attributed `SpendEvent`. A cut-off stream settles what was received.
  3. `budget_release` — on any other error the reservation is deleted and its amount freed.
  4. Crash or cancel: `budgets_release_expired` (a reconciler pass) frees reservations whose run
     is no longer running under the same lease token (the worker died and the run was re-queued,
     or the run was cancelled), and any past its expiry.

A settle that finds its reservation already released (a fenced worker whose call still returned)
books the cost anyway: the provider charged it.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import connection

from orchestrator.commit import execute_prepared
from orchestrator.llm import LLMRequest, LLMResponse, Price, cost_of, estimate_request_tokens
from orchestrator.llm.env import timeout_seconds
from orchestrator.state import dumps

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


_RESERVE = (
    "SELECT * FROM gatehouse_budget_reserve(%(token)s, %(run)s, %(lease)s, %(workflow)s, %(labels)s::text[],"
    " %(node)s, %(visit)s, %(call)s, %(attempt)s, %(model)s, %(amount)s, %(ttl)s)"
)
_SETTLE = (
    "SELECT * FROM gatehouse_budget_settle(%(token)s, %(run)s, %(workflow)s, %(labels)s::text[],"
    " %(labels_json)s::jsonb, %(node)s, %(visit)s, %(call)s, %(attempt)s, %(provider)s, %(model)s, %(input)s,"
    " %(output)s, %(cached)s, %(cost)s, %(latency)s, %(partial)s, %(unpriced)s)"
)


def budget_reserve(*, call: CallRef, amount: Decimal) -> Hold:
    """Hold `amount` on every applicable budget, or raise BudgetExceeded and hold nothing."""
    token = secrets.token_hex(16)
    # A server-side prepared statement: planned once per connection (see orchestrator.commit).
    blocked = execute_prepared(_RESERVE, {
        "token": token, "run": call.run_id, "lease": call.lease_token, "workflow": call.workflow,
        "labels": call.label_pairs, "node": call.node, "visit": call.visit, "call": call.call_index,
        "attempt": call.attempt, "model": call.model, "amount": amount, "ttl": _ttl_seconds(),
    })
    if blocked is not None:
        _usage, name, cap, spent, reserved = blocked
        raise BudgetExceeded(budget=name, cap=cap, spent=spent, reserved=reserved, max_cost=amount,
                             model=call.model, node=call.node)
    return Hold(token=token, amount=amount, call=call)


def budget_settle(*, hold: Hold, response: LLMResponse, cost: Decimal, latency_ms: float,
                  partial: bool = False, unpriced: bool = False) -> None:
    """Turn the hold into real spend and record the call (attribution), in one transaction."""
    call = hold.call
    node_total, alert_ids = execute_prepared(_SETTLE, {
        "token": hold.token, "run": call.run_id, "workflow": call.workflow, "labels": call.label_pairs,
        "labels_json": dumps(call.labels), "node": call.node, "visit": call.visit, "call": call.call_index,
        "attempt": call.attempt, "provider": response.provider, "model": response.model or call.model,
        "input": response.input_tokens, "output": response.output_tokens, "cached": response.cached_tokens,
        "cost": cost, "latency": float(latency_ms), "partial": partial, "unpriced": unpriced,
    })
    from orchestrator import cost_alerts

    alert_ids = list(alert_ids or [])
    anomaly = cost_alerts.anomaly_check(run_id=call.run_id, workflow=call.workflow, node=call.node,
                                        node_total=node_total)
    if anomaly is not None:
        alert_ids.append(anomaly)
    if alert_ids:
        cost_alerts.alerts_deliver(ids=alert_ids)


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
