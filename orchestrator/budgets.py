"""Budget enforcement around every LLM call: a hold before, settlement after, nothing leaked.

A worker job (one claim of a run, orchestrator.executor) holds budget for its LLM calls through an
`Allowance`: one hold, reserved once and drawn down by several calls, so most calls pay no extra
round trip and touch no shared row. Each step is ONE prepared statement:
  1. `budget_reserve` — when the job has no usable hold, its own (asynchronously committed)
     transaction:
       a. find the budgets that apply (global, the run's workflow, its labels, per-run) and their
          usage rows for this period (periods are rows keyed by their UTC start date; a run's rows
          are created with the run, `budget_usage_ensure`; rows still missing — a budget created
          since, a new day — are created by `gatehouse_budget_usage_ids` and the statement runs
          once more);
       b. lock those rows in ascending id order — every writer locks in that order, so concurrent
          workers cannot deadlock — and check `spent + reserved + max_cost <= cap` on each, seeing
          the latest committed values; check the worker still holds the run's lease;
       c. if the call fits, grant a hold of up to GATEHOUSE_BUDGET_ALLOWANCE_CALLS times its
          maximum — never less than the call's maximum, never more than a quarter of what is left
          on the tightest budget — add it to `reserved` on all of them and insert the hold row;
          otherwise change nothing and name the first budget that does not fit → `BudgetExceeded`,
          and the provider is never called.
     Because the check and the increment happen under the row locks, the sum of what concurrent
     jobs hold can never pass the cap. A call is drawn from a hold only if its maximum (the
     prompt estimate with a margin + every output token) fits in what the hold has left, within
     the hold's UTC day (its usage rows are that day's) and within the draw window (the lease:
     30 s) after the job's last word with the database about it — so no call spends more than is
     held.
  2. `budget_settle` — after each call, in the statement that writes the call's journal row (the
     write-ahead record every priced call needs anyway): add the real cost to the hold's `used`,
     push its expiry on, and insert the attributed `SpendEvent`. One row update, no shared row. If
     the hold is gone (given back, or expired, while the call was in flight) the cost is booked on
     the budgets directly: the provider billed it. A cut-off stream settles what was received,
     and is added to the run's totals then (it has no journal row for a cancel to count).
  3. `budget_close` — when the job ends, or its hold cannot cover the next call: delete the hold,
     move it out of `reserved` and its `used` into `spent`. Rows that passed a soft threshold are
     claimed then (cost_alerts.thresholds_alert). A call that failed gives its draw back locally.
  4. Crash or cancel: `budgets_release_expired` (a reconciler pass) releases, booking their
     `used` as spent, the holds past their expiry (`hold_ttl_seconds`): the end of the draw window
     plus two provider timeouts and a lease, pushed on by every settlement and by the job's lease
     heartbeat (orchestrator.heartbeat). So a live job's hold never expires under it, however
     long a call streams, and the hold of a worker that died or lost its run (a re-queue, a
     cancel) is released once its draws have stopped and its calls have had their time. The one
     call that can still book past a cap is one that keeps streaming for a worker that lost its
     run, beyond that time: it is booked anyway (the provider billed it).

The lease is checked when a hold is taken, not on every call: a worker that lost its run may still
make the calls of its draw window — on its hold, so within the caps — and is stopped at its next
commit. A budget created or changed revokes every hold (`budget_holds_revoke`; a change to a budget
waits for a hold being taken on it, which share-locks the budget rows): a job learns it when a call
settles, and takes a fresh hold, checked against the budgets as they are now, for the call after
that. Until then — one call per thread of the job — its calls draw on the hold granted before the
change, and are booked on the budgets that hold was taken on. A budget created — or activated, or
re-scoped to match — while a hold is being taken can miss that hold.
"""

from __future__ import annotations

import importlib
import math
import secrets
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection

from orchestrator.commit import LeaseLost
from orchestrator.journal import journal_insert_sql
from orchestrator.llm import LLMRequest, LLMResponse, Price, cost_of, estimate_request_tokens
from orchestrator.llm.env import timeout_seconds
from orchestrator.llm.pricing import MICRO_DOLLAR
from orchestrator.prepared import ASYNC_COMMIT, async_commit_param, execute_prepared, prefixed
from orchestrator.state import dumps

# Which budgets apply to a call and which period row of each: one text, shared with the SQL functions
# that create missing usage rows and release holds (migration 0004; a migration's text never changes).
_scope_sql = importlib.import_module("orchestrator.migrations.0004_budget_functions")
APPLICABLE, PERIOD_START, RUN_KEY = _scope_sql.APPLICABLE, _scope_sql.PERIOD_START, _scope_sql.RUN_KEY

# The prompt estimate is a heuristic (orchestrator.llm.tokens, within ~30% of real tokenizers):
# reserve for a prompt this much longer so a call never costs more than it held.
INPUT_MARGIN = 1.3
INPUT_SLACK_TOKENS = 16


def amount_text(amount: Decimal) -> str:
    """An amount as the database keeps it, to 6 places ("5.000000"): what ledger entries record, so a
    value typed "5" over a stored 5.000000 reads as no change."""
    return f"{Decimal(amount).quantize(MICRO_DOLLAR):f}"


def amount_input(amount: Decimal) -> str:
    """An amount as someone would type it into a form ("5", "2.5", "0.0003"), not as stored ("5.000000")."""
    return amount_text(amount).rstrip("0").rstrip(".") or "0"


def money(amount: Decimal) -> str:
    """$1.00, $2.50, $0.0003: cents for round amounts, every significant digit down to a millionth."""
    text = amount_text(amount).rstrip("0")
    whole, _, frac = text.partition(".")
    return f"${whole}.{frac.ljust(2, '0')}"


class BudgetExceeded(Exception):  # noqa: N818 - a control-flow signal caught by the executor
    """The call's maximum cost does not fit in a budget: the run suspends as budget_exceeded."""

    def __init__(self, *, budget: str, budget_id: int, cap: Decimal, spent: Decimal, reserved: Decimal,
                 max_cost: Decimal, model: str, node: str) -> None:
        self.budget, self.cap, self.spent, self.reserved = budget, cap, spent, reserved
        self.budget_id = budget_id  # the stop finds its budget by id, so renaming it loses nothing
        self.max_cost, self.model, self.node = max_cost, model, node
        super().__init__(
            f'budget "{budget}" cannot cover this call: cap {money(cap)}, spent {money(spent)}, '
            f"held by running jobs {money(reserved)}, this call may cost up to {money(max_cost)} ({model})"
        )

    def as_dict(self) -> dict[str, str]:
        return {"budget": self.budget, "budget_id": str(self.budget_id), "cap": str(self.cap), "spent": str(self.spent),
                "reserved": str(self.reserved), "max_cost": str(self.max_cost), "model": self.model, "node": self.node}


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
        return label_pairs(self.labels)


def label_pairs(labels: dict[str, str]) -> list[str]:
    """A run's labels as label-scoped budgets match them (`department=legal`)."""
    return [f"{k}={v}" for k, v in sorted(labels.items())]


@dataclass
class Hold:
    """A hold as its job sees it. `used` and `in_flight` are kept locally; the row's `used` is
    what the database books when the hold is closed or released."""

    token: str
    amount: Decimal  # held on every applicable budget
    call: CallRef  # the call that opened it
    used: Decimal = Decimal(0)  # settled calls' cost
    in_flight: Decimal = Decimal(0)  # maxima of calls drawn and not settled yet
    deadline: float = math.inf  # _clock() at which its draw window closes (see _draw_window)
    live: bool = True  # False once revoked, found released, or closed
    ttl: float = 0.0  # how far past each settlement it expires (hold_ttl_seconds, read once per hold)
    window: float = 0.0  # the draw window, seconds (read once per hold)
    day_ends: float = math.inf  # _clock() at which the UTC day of its usage rows ends (database's clock)
    labels_json: str = ""  # the run's labels as the spend rows store them (encoded once per hold)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def can_cover(self, call: CallRef, amount: Decimal) -> bool:
        # A new UTC day (or month) means other usage rows: a hold's calls are booked on the rows of
        # the day it was taken, so a call of the next day takes a new hold, checked on the new rows.
        now = _clock()
        return (self.live and self.call.run_id == call.run_id and self.call.lease_token == call.lease_token
                and self.amount - self.used - self.in_flight >= amount and now < self.deadline
                and now < self.day_ends)


def max_cost(price: Price, request: LLMRequest) -> Decimal:
    """What to reserve: the prompt estimate with a safety margin, uncached, plus every output token."""
    prompt = math.ceil(estimate_request_tokens(request) * INPUT_MARGIN) + INPUT_SLACK_TOKENS
    return cost_of(price, prompt, request.max_tokens, 0)


def _draw_window() -> float:
    # How long after its last word with the database about a hold (the reserve, or a settlement) a
    # job may still draw on it without asking: the lease, so a worker that lost its run (it learns
    # at its next commit) stops drawing about when its lease would have lapsed.
    return float(settings.GATEHOUSE_LEASE_SECONDS)


def hold_ttl_seconds() -> float:
    """How far past its last settlement, or its job's last lease heartbeat, a hold expires: past the
    draw window by two provider timeouts and a lease, so a call drawn at the end of the window
    still settles on its hold. A live job's heartbeat keeps pushing the expiry on (a stream has no
    total time limit: the SDKs' timeouts bound each read), so the reconciler — which releases a
    hold only once it has expired — frees the room of a job that died or lost its run, never of a
    call still running for a live one."""
    return _draw_window() + timeout_seconds() * 2 + settings.GATEHOUSE_LEASE_SECONDS


def _clock() -> float:
    # The draw window is measured against the database's clock: a machine that was suspended must
    # see the window close, so on Linux count suspended time too (CLOCK_MONOTONIC does not).
    return time.clock_gettime(_BOOTTIME) if _BOOTTIME is not None else time.monotonic()


_BOOTTIME = getattr(time, "CLOCK_BOOTTIME", None)


def allowance_calls() -> int:
    return max(1, int(settings.GATEHOUSE_BUDGET_ALLOWANCE_CALLS))


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
#            does this worker still hold the run's lease (fencing: a stale worker gets no hold),
#            and how much to grant;
#   held/hold add the grant to every row and insert the hold, only on a yes.
# Async commit, as the holds always were (migration 0006): a hold lost in a server crash only
# frees room that the crashed worker's calls could not settle anyway.
_RESERVE = f"""
WITH lease AS (
  -- A locking read: a claim or a cancel (both lock the run row FOR UPDATE) that is open or
  -- committed while this statement waited for usage-row locks makes it read the row again, and
  -- the moved token refuses the hold.
  SELECT 1 FROM orchestrator_run
  WHERE id = %(run)s AND lease_token = %(lease)s AND status = 'running' FOR KEY SHARE
), app AS (
  -- The budget rows are share-locked too: an admin's change to a budget (cost_admin, which locks
  -- its row) either commits first, and this statement reads the new cap, or waits for this hold
  -- to commit, and then revokes it.
  SELECT u.id, b.id AS budget_id, b.name, b.cap, u.spent, u.reserved{_USAGE_JOIN}
  ORDER BY u.id FOR UPDATE OF u FOR SHARE OF b
), verdict AS (
  SELECT (SELECT count(*) FROM app) = (SELECT count(*) FROM orchestrator_budget b WHERE {_in_sql(APPLICABLE)})
           AS complete,
         (SELECT coalesce(array_agg(a.id ORDER BY a.id), '{{}}') FROM app a) AS ids,
         (SELECT json_build_array(a.name, a.cap, a.spent, a.reserved, a.budget_id) FROM app a
           WHERE a.spent + a.reserved + %(amount)s > a.cap ORDER BY a.id LIMIT 1) AS blocked,
         EXISTS (SELECT 1 FROM lease) AS leased,
         -- The grant: what was asked (several calls' maximum), at most a quarter of what is left
         -- on the tightest budget, at least this call's maximum (which fits, or nothing is held).
         greatest(%(amount)s::numeric, least(%(want)s::numeric,
                  trunc((SELECT min(a.cap - a.spent - a.reserved) FROM app a) / 4, 6))) AS grant_
), held AS (
  UPDATE orchestrator_budgetusage u SET reserved = u.reserved + (SELECT grant_ FROM verdict),
         updated_at = statement_timestamp()
  WHERE u.id = ANY((SELECT ids FROM verdict)::bigint[]) AND (SELECT complete AND leased AND blocked IS NULL FROM verdict)
), hold AS (
  INSERT INTO orchestrator_budgetreservation
    (token, run_id, lease_token, node, visit, call_index, attempt, model, amount, used, revoked, usage_ids,
     created_at, expires_at)
  SELECT %(token)s, %(run)s, %(lease)s, %(node)s, %(visit)s, %(call)s, %(attempt)s, %(model)s, v.grant_, 0, false,
         v.ids, statement_timestamp(), statement_timestamp() + %(ttl)s * interval '1 second'
  FROM verdict v WHERE v.complete AND v.leased AND v.blocked IS NULL
)
SELECT v.complete, v.leased, v.blocked, v.grant_,
       -- Seconds until the UTC day ends (as the usage rows' periods count days): a hold is drawn
       -- on only within its day, measured on the worker's own clock from this answer.
       extract(epoch FROM date_trunc('day', now() AT TIME ZONE 'UTC') + interval '1 day'
                         - (now() AT TIME ZONE 'UTC'))::float8
FROM verdict v
WHERE {ASYNC_COMMIT}
"""

# Settle one call, as one statement: add its cost to its hold's `used` (which also pushes the
# hold's expiry back), insert the attributed spend row, and report the node's spend so far in this
# run (anomaly check) and whether the hold was revoked. One row update, no shared row. With an LLM
# call's journal row appended (ctx.llm), the call's write-ahead record and its settlement are one
# durable commit. Nothing is written if the hold is gone: then _SETTLE_DIRECT runs instead.
_SETTLE = """
WITH {run_first}h AS (
  UPDATE orchestrator_budgetreservation
     SET used = used + %(cost)s,
         -- Never backwards: settlements of calls on several threads may commit out of order.
         expires_at = greatest(expires_at, statement_timestamp() + %(ttl)s * interval '1 second')
   WHERE token = %(token)s{after_run}
  RETURNING revoked
), ev AS (
  {spend_insert}
  SELECT %(run)s, %(workflow)s, %(node)s, %(visit)s, %(call)s, %(attempt)s, %(labels_json)s::jsonb, %(provider)s,
         %(model)s, %(input)s, %(output)s, %(cached)s, %(cost)s, %(drawn)s, %(latency)s, %(partial)s, %(unpriced)s,
         statement_timestamp()
  FROM h
  RETURNING 1
){journal_cte}
SELECT {node_total},
       NULL::bigint[],
       (SELECT revoked FROM h),
       {journal_count}
"""
# The hold is gone — released while the call was in flight (the worker was taken for dead, or the
# run cancelled) — but the provider billed the call: lock the budgets' usage rows in id order and
# book the cost there directly, with the spend row; report rows that crossed a soft threshold.
_SETTLE_DIRECT = """
WITH applicable AS (  -- once: the function may create this period's rows
  SELECT gatehouse_budget_usage_ids(%(run)s, %(workflow)s, %(labels)s::text[]) AS ids
), locked AS (
  SELECT u.id FROM orchestrator_budgetusage u
  WHERE u.id = ANY((SELECT ids FROM applicable)::bigint[]) ORDER BY u.id FOR UPDATE
), upd AS (
  UPDATE orchestrator_budgetusage u SET spent = u.spent + %(cost)s, updated_at = statement_timestamp()
  FROM orchestrator_budget b
  WHERE u.id = ANY((SELECT array_agg(id) FROM locked)::bigint[]) AND b.id = u.budget_id
  RETURNING u.id, u.spent, u.alerted_pct, b.cap, b.soft_thresholds
), ev AS (
  {spend_insert}
  VALUES (%(run)s, %(workflow)s, %(node)s, %(visit)s, %(call)s, %(attempt)s, %(labels_json)s::jsonb, %(provider)s,
          %(model)s, %(input)s, %(output)s, %(cached)s, %(cost)s, 0, %(latency)s, %(partial)s, %(unpriced)s,
          statement_timestamp())
  RETURNING 1
){journal_cte}
SELECT {node_total},
       ({crossed}),
       NULL::boolean,  -- no hold, nothing to revoke
       {journal_count}
"""
# The node's spend in this run, only when the node has a norm to compare with (cost_alerts); the new
# spend row is not visible to the statement that inserts it, hence + cost.
_NODE_TOTAL = """CASE WHEN %(want_total)s
            THEN (SELECT coalesce(sum(s.cost), 0) FROM orchestrator_spendevent s
                   WHERE s.run_id = %(run)s AND s.node = %(node)s) + %(cost)s END"""
# A usage row has passed soft threshold t.v (a percentage) it has not alerted for yet; shared with
# the claim that records the alert (cost_alerts.thresholds_claim).
THRESHOLD_PASSED = "t.v::int > {usage}.alerted_pct AND {usage}.spent * 100 >= t.v::numeric * {cap}"
# Which of the updated usage rows crossed a soft threshold they have not alerted for yet.
_CROSSED = f"""SELECT array_agg(upd.id) FROM upd
         WHERE upd.cap > 0 AND EXISTS (
           SELECT 1 FROM jsonb_array_elements_text(upd.soft_thresholds) AS t(v)
           WHERE {THRESHOLD_PASSED.format(usage="upd", cap="upd.cap")})"""


_SPEND_INSERT = """INSERT INTO orchestrator_spendevent
    (run_id, workflow, node, visit, call_index, attempt, labels, provider, model, input_tokens, output_tokens,
     cached_tokens, cost, reserved, latency_ms, partial, unpriced, created_at)"""


# A call the journal refused (its run was cancelled mid-call, or another worker took the run over) was
# still billed: its spend row books it on the budgets, and this adds it to the run's totals, which
# otherwise come from journal rows (the step commit, or a cancel counting the visit in progress) and
# would never hold it: the run page and the run's ledger entries would show less than the costs page.
# Increments, as the step commit's are, so a successor's commit does not undo them.
_FENCED_CALL_COUNTED = """,
fenced AS (
  UPDATE orchestrator_run
     SET llm_calls = llm_calls + 1, input_tokens = input_tokens + %(j_input_tokens)s,
         output_tokens = output_tokens + %(j_output_tokens)s, cached_tokens = cached_tokens + %(j_cached_tokens)s,
         cost = cost + %(j_cost)s
   WHERE id = %(j_run_id)s AND NOT EXISTS (SELECT 1 FROM j){guard}
)"""


# A stream cut off mid-way (ctx.llm, `partial`) was billed for what it received, and has no journal
# row: there is no answer to reuse. The run's totals took it only with its visit's commit (its step,
# or its failure), and a visit whose run is cancelled (or whose worker dies) never commits; a cancel
# counts the visit's journal rows, which do not hold it. The run page showed less than the costs
# page. Counted here, in the statement that books it, it is in the run's totals however its visit
# ends, and the visit's commit leaves it out (context.Spend.run_totals).
_CUT_OFF_CALL_COUNTED = """,
cut_off AS (
  UPDATE orchestrator_run
     SET llm_calls = llm_calls + 1, input_tokens = input_tokens + %(input)s, output_tokens = output_tokens + %(output)s,
         cached_tokens = cached_tokens + %(cached)s, cost = cost + %(cost)s
   WHERE id = %(run)s{guard}
)"""
# On a hold, a statement that updates the run row locks it before the hold, in the order the lease
# heartbeat (orchestrator.heartbeat) locks them: the other order could deadlock with it.
_RUN_FIRST = """run_row AS (
  SELECT id FROM orchestrator_run WHERE id = %(run)s FOR NO KEY UPDATE
), """


def _settle_sql(template: str, *, journal: bool = False, cut_off: bool = False, guard: str = "") -> str:
    guarded = f" AND {guard}" if guard else ""
    if journal:
        fenced = _FENCED_CALL_COUNTED.format(guard=guarded)
        extra = f",\nj AS (\n{journal_insert_sql('j_', guard=guard)}\n){fenced}"
    else:
        extra = _CUT_OFF_CALL_COUNTED.format(guard=guarded) if cut_off else ""
    return template.format(
        run_first=_RUN_FIRST if cut_off else "", after_run=" AND EXISTS (SELECT 1 FROM run_row)" if cut_off else "",
        journal_cte=extra, journal_count="(SELECT count(*) FROM j)" if journal else "1",
        node_total=_NODE_TOTAL, crossed=_CROSSED, spend_insert=_SPEND_INSERT)


# (hold gone?, with the call's journal row?, a cut-off stream?) → SQL. On a hold, the journal row is
# written, or the cut-off call counted, only if the hold was there (else the direct statement does it).
_ON_HOLD = "EXISTS (SELECT 1 FROM h)"
_SETTLE_SQL = {
    (False, False, False): _settle_sql(_SETTLE),
    (False, True, False): _settle_sql(_SETTLE, journal=True, guard=_ON_HOLD),
    (False, False, True): _settle_sql(_SETTLE, cut_off=True, guard=_ON_HOLD),
    (True, False, False): _settle_sql(_SETTLE_DIRECT),
    (True, True, False): _settle_sql(_SETTLE_DIRECT, journal=True),
    (True, False, True): _settle_sql(_SETTLE_DIRECT, cut_off=True),
}

# Close a hold, as one statement: delete it, lock its usage rows in id order, move its amount out of
# `reserved` and what its calls cost into `spent`; report rows that crossed a soft threshold.
_CLOSE = f"""
WITH d AS (
  DELETE FROM orchestrator_budgetreservation WHERE token = %(token)s RETURNING usage_ids, amount, used
), locked AS (
  SELECT u.id FROM orchestrator_budgetusage u WHERE u.id = ANY((SELECT usage_ids FROM d)::bigint[]) ORDER BY u.id FOR UPDATE
), upd AS (
  UPDATE orchestrator_budgetusage u
     SET spent = u.spent + (SELECT used FROM d), reserved = u.reserved - (SELECT amount FROM d),
         updated_at = statement_timestamp()
  FROM orchestrator_budget b
  WHERE u.id = ANY((SELECT array_agg(id) FROM locked)::bigint[]) AND b.id = u.budget_id
  RETURNING u.id, u.spent, u.alerted_pct, b.cap, b.soft_thresholds
)
SELECT ({_CROSSED})
WHERE {ASYNC_COMMIT}
"""


def budget_usage_ensure(*, run_id: int, workflow: str, labels: dict[str, str]) -> None:
    """Create the usage rows of the budgets that apply to a new run — its per-run budgets' rows,
    and this period's shared rows if they are missing — in the transaction that creates the run.
    Without them its first call's reserve would find a row missing, create it in a transaction of
    its own and reserve again: two round trips and a durable commit more, on every run's first
    call. (A budget created later, or a new day or month, still takes that path.)"""
    with connection.cursor() as cursor:
        cursor.execute("SELECT gatehouse_budget_usage_ids(%s, %s, %s::text[])", [run_id, workflow, label_pairs(labels)])


def budget_reserve(*, call: CallRef, amount: Decimal, want: Decimal | None = None) -> Hold:
    """Hold at least `amount` (up to `want`) on every applicable budget, or raise BudgetExceeded and
    hold nothing. The hold is returned with `amount` drawn for the call that asked.

    Raises LeaseLost if the run's lease moved on to another worker: a fenced worker gets no new hold.
    """
    token = secrets.token_hex(16)
    params = {
        "token": token, "run": call.run_id, "lease": call.lease_token, "workflow": call.workflow,
        "labels": call.label_pairs, "node": call.node, "visit": call.visit, "call": call.call_index,
        "attempt": call.attempt, "model": call.model, "amount": amount, "want": max(amount, want or amount),
        "ttl": hold_ttl_seconds(), "async_commit": async_commit_param(),
    }
    window = _draw_window()
    sent_at = _clock()
    for attempt in (1, 2):
        complete, leased, blocked, granted, day_left = execute_prepared(_RESERVE, params)
        if not leased:
            raise LeaseLost(f"run {call.run_id}: not running under lease token {call.lease_token} any more;"
                            " no budget hold, no call")
        if complete or attempt == 2:
            break
        # A new budget, day or month (or run) has no usage row yet: create the missing rows (in
        # budget id order, idempotently) and try once more.
        budget_usage_ensure(run_id=call.run_id, workflow=call.workflow, labels=call.labels)
    if blocked is not None:
        name, cap, spent, reserved, budget_id = blocked
        raise BudgetExceeded(budget=name, budget_id=budget_id, cap=Decimal(str(cap)), spent=Decimal(str(spent)),
                             reserved=Decimal(str(reserved)), max_cost=amount, model=call.model, node=call.node)
    if not complete:
        raise RuntimeError(f"run {call.run_id}: budget usage rows could not be created for this call")
    return Hold(token=token, amount=Decimal(granted), call=call, in_flight=amount, ttl=params["ttl"],
                window=window, deadline=sent_at + window, day_ends=sent_at + day_left,
                labels_json=dumps(call.labels))


def node_spend_wanted(call: CallRef) -> bool:
    """Whether settling this call should sum its node's spend in the run: only when the node has a
    norm to compare with (cost_alerts.anomaly_possible). That reads spend history, a query that can
    fail (a statement timeout on a large table), so ctx.llm asks before it calls the provider."""
    from orchestrator import cost_alerts

    return cost_alerts.anomaly_possible(run_id=call.run_id, workflow=call.workflow, node=call.node)


def budget_settle(*, hold: Hold, response: LLMResponse, cost: Decimal, latency_ms: float, call: CallRef | None = None,
                  drawn: Decimal | None = None, partial: bool = False, unpriced: bool = False,
                  sum_node_spend: bool, journal: dict[str, Any] | None = None) -> None:
    """Book one call's real cost on its hold and record the call (attribution), in one transaction.

    `call`: the call settled (default: the one that opened the hold); `drawn`: the maximum it drew
    from the hold (default: all the hold had in flight). `journal`: the call's journal row
    (orchestrator.journal.journal_params), written by the same statement; raises LeaseLost after
    settling if the lease moved on (the provider billed the call either way, so its spend is booked).
    `sum_node_spend`: `node_spend_wanted(call)`, asked before the call: nothing that can fail may run
    between a paid answer and the statement that journals it (a failure there would have the node's
    retry pay for the call again). `partial`: a stream cut off mid-way, never journaled; the same
    statement adds it to the run's totals (_CUT_OFF_CALL_COUNTED).
    """
    call = call or hold.call
    drawn = hold.in_flight if drawn is None else drawn
    params = {
        "token": hold.token, "run": call.run_id, "workflow": call.workflow,
        "labels_json": hold.labels_json if call.labels is hold.call.labels else dumps(call.labels),
        "node": call.node, "visit": call.visit, "call": call.call_index,
        "attempt": call.attempt, "provider": response.provider, "model": response.model or call.model,
        "input": response.input_tokens, "output": response.output_tokens, "cached": response.cached_tokens,
        "cost": cost, "drawn": drawn, "latency": float(latency_ms), "partial": partial, "unpriced": unpriced,
        "ttl": hold.ttl,
    }
    from orchestrator import cost_alerts

    params["want_total"] = sum_node_spend
    if journal is not None:
        prefixed("j_", journal, params)
    sent_at = _clock()
    kind = (journal is not None, partial and journal is None)
    node_total, crossed, revoked, journaled = execute_prepared(_SETTLE_SQL[(False, *kind)], params)
    if revoked is None:  # the hold is gone: book the call on the budgets directly
        params["labels"] = call.label_pairs  # the direct statement finds the budgets that apply
        node_total, crossed, _, journaled = execute_prepared(_SETTLE_SQL[(True, *kind)], params)
    with hold.lock:
        hold.in_flight -= drawn
        hold.used += cost
        if revoked is None or revoked:
            hold.live = False  # released while the call was in flight (booked directly), or revoked
        else:
            hold.deadline = sent_at + hold.window
    if crossed:
        cost_alerts.thresholds_alert(usage_ids=crossed, run_id=call.run_id, node=call.node)
    if node_total is not None:
        anomaly = cost_alerts.anomaly_check(run_id=call.run_id, workflow=call.workflow, node=call.node,
                                            node_total=node_total)
        if anomaly is not None:
            cost_alerts.alerts_deliver(ids=[anomaly])
    if not journaled:
        raise LeaseLost(f"run {call.run_id}: lost the lease while journaling a call of node {call.node!r}")


def budget_close(*, hold: Hold) -> None:
    """Give a hold back: what its calls cost becomes spend, the rest is free for others."""
    hold.live = False
    (crossed,) = execute_prepared(_CLOSE, {"token": hold.token, "async_commit": async_commit_param()})
    if crossed:
        from orchestrator import cost_alerts

        cost_alerts.thresholds_alert(usage_ids=crossed, run_id=hold.call.run_id, node=hold.call.node)


class Allowance:
    """One worker job's budget hold, drawn down by its LLM calls.

    A call draws its maximum from the hold if the hold can still cover it (`Hold.can_cover`: not
    known to be revoked or gone, within its draw window, taken today, enough left); otherwise the
    job gives the hold back and reserves a new one — checked against the budgets as they are now —
    before calling. A failed call gives its draw back; a settled one keeps what it cost. `close()`
    when the job ends.
    """

    def __init__(self) -> None:
        self.hold: Hold | None = None
        # Replaced holds that still had a call in flight (a node calling from several threads):
        # that call settles on its hold, and close() gives them back with the current one.
        self._replaced: list[Hold] = []
        self._lock = threading.Lock()

    def draw(self, *, call: CallRef, amount: Decimal) -> Hold:
        with self._lock:
            hold = self.hold
            if hold is not None:
                with hold.lock:
                    if hold.can_cover(call, amount):
                        hold.in_flight += amount
                        return hold
                    busy = hold.in_flight > 0
                self.hold = None
                if busy:
                    self._replaced.append(hold)
                else:
                    budget_close(hold=hold)
            self.hold = budget_reserve(call=call, amount=amount, want=amount * allowance_calls())
            return self.hold

    @staticmethod
    def undraw(hold: Hold, amount: Decimal) -> None:
        """A call that failed before the provider billed anything gives its draw back."""
        with hold.lock:
            hold.in_flight -= amount

    def close(self) -> None:
        with self._lock:
            holds = [h for h in (*self._replaced, self.hold) if h is not None]
            self.hold, self._replaced = None, []
        for hold in holds:
            budget_close(hold=hold)


_STALE = """
SELECT r.token, r.usage_ids, r.run_id, r.node FROM orchestrator_budgetreservation r
WHERE r.expires_at < statement_timestamp()
"""


def budgets_release_expired() -> int:
    """Reconciler pass: release the expired holds — those of workers that died, or lost their run
    (a re-queue, a cancel) and so stopped settling; a live job's settlements keep pushing its
    hold's expiry on, and its give-back at the end of the job removes the hold anyway. What their
    calls cost is booked as spent, and any soft threshold that passed is claimed."""
    with connection.cursor() as cursor:
        cursor.execute(_STALE)
        rows = cursor.fetchall()
        if not rows:
            return 0
        # Expired only, re-checked by the function's DELETE: a hold a settlement just pushed on is kept.
        cursor.execute("SELECT gatehouse_budget_release(%s, true)", [[token for token, *_rest in rows]])
        released = cursor.fetchone()[0]
    from orchestrator import cost_alerts

    for _token, usage_ids, run_id, node in rows:
        if usage_ids:
            cost_alerts.thresholds_alert(usage_ids=usage_ids, run_id=run_id, node=node)
    return released


def budget_holds_revoke() -> int:
    """A budget was created or changed: every running job takes a fresh hold, checked against the
    budgets as they are now, before its next call (it learns of this at its next settlement)."""
    # Token order, as releases lock them: the two can never wait on each other in a cycle.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE orchestrator_budgetreservation SET revoked = true WHERE token IN ("
                       " SELECT token FROM orchestrator_budgetreservation WHERE NOT revoked ORDER BY token FOR UPDATE)")
        return cursor.rowcount
