"""The node context `ctx`: a node's only door to the outside world.

Every call through it is journaled under (run, visit, call index). A node that runs again after a
crash, a retry or a gate gets the recorded result of each call it already made, so it neither
pays for an LLM call twice nor repeats a side effect. Journal rows are written as soon as a call
returns (write-ahead), guarded by the lease token, because a crash before the step commit must
not lose the fact that the call was made and paid for.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from orchestrator import budgets, spend
from orchestrator import llm as llm_providers
from orchestrator.blobs import STATE_BLOB_TYPE, blob_get, blob_put
from orchestrator.engine_errors import engine_storage
from orchestrator.graph import GateDecision, GateRequest
from orchestrator.journal import JournalRow, LazyJournal, journal_fence, journal_params, journal_write
from orchestrator.llm import LLMRequest, LLMResponse
from orchestrator.state import StateError, check_serializable, dumps

DEFAULT_MODEL = "demo-small"


class Interrupt(Exception):  # noqa: N818 - it is a control-flow signal, not an error
    """Raised by ctx.interrupt() the first time: the executor suspends the run at a gate."""

    def __init__(self, request: GateRequest, call_index: int) -> None:
        super().__init__(request.action)
        self.request = request
        self.call_index = call_index


class NonDeterministicNode(RuntimeError):
    """A re-executed node made a different call than its journal recorded at the same index."""

    retryable = False  # the same code on the same state makes the same different call again


class EffectResultNotJournaled(StateError):
    """An effect ran but its result cannot be journaled: retrying the node would perform it again, and
    the same code returns the same result."""

    retryable = False


class CtxCallError(TypeError):
    """A node called ctx with arguments it cannot take: the same code makes the same call again, so
    it is not retried; the message names the node, the call and the argument."""

    retryable = False


def _refuse(node: str, call: str, problem: str) -> CtxCallError:
    return CtxCallError(f"node {node!r} called {call} {problem}")


@dataclass
class Spend:
    """Spend of one node visit, keyed by journal index so a call is counted once across attempts."""

    calls: dict[Any, tuple[int, int, int, Decimal]] = field(default_factory=dict)
    models: set[str] = field(default_factory=set)
    # Call indices of this visit already in the run's totals (it suspended or failed before): a
    # re-run gets them back from the journal without counting them again.
    counted: frozenset[int] = frozenset()
    # Calls put in the run's totals by their own settlement (a cut-off stream: budgets._CUT_OFF_CALL_COUNTED):
    # in this visit's figures (its checkpoint, its ledger entry), not added to the run's again.
    in_run_totals: set[Any] = field(default_factory=set)

    def counted_after(self) -> list[int]:
        """The visit's calls in the run's totals once this spend is committed: those counted before
        and the journaled ones in it (a call that failed without a journal row is in neither)."""
        return sorted(self.counted.union(k for k in self.calls if type(k) is int))

    def add(self, index: Any, tokens_in: int, tokens_out: int, cached: int, cost: Decimal, *,
            in_run_totals: bool = False) -> None:
        self.calls[index] = (tokens_in, tokens_out, cached, cost)
        if in_run_totals:
            self.in_run_totals.add(index)

    def run_totals(self) -> dict[str, Any]:
        """What this spend adds to the run row's totals (commit.RunChange's spend fields)."""
        calls = [c for key, c in self.calls.items() if key not in self.in_run_totals]
        return {"input_tokens": sum(c[0] for c in calls), "output_tokens": sum(c[1] for c in calls),
                "cached_tokens": sum(c[2] for c in calls), "cost": sum((c[3] for c in calls), Decimal(0)),
                "llm_calls": len(calls)}

    @property
    def input_tokens(self) -> int:
        return sum(c[0] for c in self.calls.values())

    @property
    def output_tokens(self) -> int:
        return sum(c[1] for c in self.calls.values())

    @property
    def cached_tokens(self) -> int:
        return sum(c[2] for c in self.calls.values())

    @property
    def cost(self) -> Decimal:
        return sum((c[3] for c in self.calls.values()), Decimal(0))


@dataclass
class RunInfo:
    """What a node may know about its run (read-only)."""

    id: int
    thread_id: str
    workflow: str
    labels: dict[str, str]
    lease_token: int
    overrides: dict[str, Any]
    is_fork: bool
    allow_effects: bool


def request_hash(payload: Any) -> str:
    return hashlib.sha256(dumps(payload).encode()).hexdigest()


class Blobs:
    """`ctx.blobs`: store bytes once by content hash, keep the pointer in state."""

    def __init__(self, node: str = "") -> None:
        self.node = node

    def put(self, data: bytes | str, *, content_type: str = "application/octet-stream") -> dict[str, Any]:
        if not isinstance(data, (bytes, str)):
            raise _refuse(self.node, "ctx.blobs.put()", f"with a {type(data).__name__}: it stores bytes or text; "
                          "encode other values first (e.g. json.dumps(value))")
        if content_type == STATE_BLOB_TYPE:
            raise ValueError(f"ctx.blobs.put: the content type {STATE_BLOB_TYPE!r} is the engine's own (it marks "
                             "state values it stored itself); give your bytes their real type")
        raw = data.encode() if isinstance(data, str) else data
        # A full or unwritable blob store is the engine's trouble, not the node's.
        with engine_storage("storing a blob", also=(OSError,)):
            return blob_put(raw, content_type=content_type)

    def get(self, ref: dict[str, Any]) -> bytes:
        if not isinstance(ref, dict) or not isinstance(ref.get("$blob"), str):
            raise _refuse(self.node, "ctx.blobs.get()", f"with {type(ref).__name__} {str(ref)[:60]!r}: it takes the "
                          "pointer ctx.blobs.put() returned ({'$blob': …})")
        return blob_get(ref["$blob"])


class NodeContext:
    def __init__(
        self,
        *,
        run: RunInfo,
        node: str,
        visit: int,
        attempt: int,
        journal: LazyJournal,
        spend_so_far: Spend,
        settings: dict[str, Any],
        allowance: budgets.Allowance,
        replay: Any | None = None,
    ) -> None:
        self.run = run
        # The job's budget hold, shared by its node visits; whoever runs the job closes it.
        self._allowance = allowance
        self.node = node
        self.visit = visit
        self.attempt = attempt
        self.settings = settings
        self.blobs = Blobs(node)
        self.spend = spend_so_far
        self._journal = journal
        self._replay = replay
        self._index = 0

    @property
    def thread_id(self) -> str:
        return self.run.thread_id

    def setting(self, name: str, default: Any = None) -> Any:
        """A node setting, overridable per run (forks may override e.g. model or prompt version)."""
        node_overrides = self.run.overrides.get("nodes", {}).get(self.node, {})
        return node_overrides.get(name, self.settings.get(name, default))

    def _journal_write(self, index: int, kind: str, **fields: Any) -> None:
        with engine_storage("journaling a call"):
            journal_write(run_id=self.run.id, lease_token=self.run.lease_token, visit=self.visit, call_index=index,
                          node=self.node, kind=kind, **fields)

    def _journal_row(self, index: int) -> JournalRow | None:
        with engine_storage("reading the journal"):
            return self._journal.get(index)

    def _next_index(self) -> int:
        index = self._index
        self._index += 1
        return index

    def _recorded(self, index: int, kind: str, digest: str) -> JournalRow | None:
        row = self._journal_row(index)
        if row is None:
            return None
        if row.kind != kind or row.request_hash != digest:
            raise NonDeterministicNode(
                f"node {self.node!r} made a different {kind} call (#{index}) than when it first ran. "
                "A node must make the same ctx calls in the same order when re-run: move randomness, "
                "clock reads and external reads into ctx.effect() so they are journaled. If the node's code "
                "changed since (a new prompt), what the run recorded no longer answers it: fork the run from the "
                "checkpoint before the node instead of retrying it."
            )
        return row

    # --- LLM --------------------------------------------------------------------------------------
    def llm(
        self,
        prompt: str | None = None,
        *,
        messages: list[dict[str, str]] | None = None,
        system: str | None = None,
        model: str | None = None,
        max_tokens: int = 512,
        temperature: float = 0.0,
        stream: bool = False,
    ) -> LLMResponse:
        self._check_llm_arguments(prompt, messages, system, model, max_tokens, temperature)
        chosen = self.setting("model") or model or DEFAULT_MODEL
        msgs = list(messages or [])
        if system:
            msgs.insert(0, {"role": "system", "content": system})
        if prompt is not None:
            msgs.append({"role": "user", "content": prompt})
        request = LLMRequest(
            model=chosen, messages=tuple(msgs), max_tokens=max_tokens, temperature=temperature, stream=stream
        )
        digest = request_hash(request.canonical())
        index = self._next_index()
        recorded = self._recorded(index, "llm", digest)
        if recorded is not None:
            if index not in self.spend.counted:  # else in the run's totals since the visit suspended or failed
                self.spend.add(index, recorded.input_tokens, recorded.output_tokens, recorded.cached_tokens,
                               recorded.cost)
            self.spend.models.add(chosen)
            return LLMResponse.from_json(recorded.result)
        replayed = self._replay.lookup(self.node, digest) if self._replay is not None else None
        if replayed is not None:
            # Recorded replay (forks): the parent's result, zero tokens spent by this run.
            self._journal_write(
                index, "llm",
                name=chosen, request_hash=digest, request=dumps(request.canonical()),
                result=dumps(replayed), provider=replayed.get("provider", ""), model=replayed.get("model", ""),
                replayed=True,
            )
            self.spend.add(index, 0, 0, 0, Decimal(0))
            return LLMResponse.from_json(replayed)
        price = spend.price_for(chosen)
        # Budgets (orchestrator.budgets): draw the call's maximum cost from the job's hold before
        # calling (taking a new hold if it cannot cover it), or raise BudgetExceeded (the executor
        # suspends the run) without calling the provider.
        call = budgets.CallRef(
            run_id=self.run.id, lease_token=self.run.lease_token, workflow=self.run.workflow,
            labels=self.run.labels, node=self.node, visit=self.visit, call_index=index, attempt=self.attempt,
            model=chosen,
        )
        need = budgets.max_cost(price, request)
        # Asked now, before the provider is paid: it reads spend history (a query that can fail), and
        # a failure between a paid answer and the statement that journals it would have the node's
        # retry pay for the call again.
        with engine_storage("reading the node's spend norm"):
            sum_node_spend = budgets.node_spend_wanted(call)
        with engine_storage("taking a budget hold"):
            hold = self._allowance.draw(call=call, amount=need)
        started = time.perf_counter()
        try:
            response = llm_providers.complete(request)
        except llm_providers.LLMStreamCutOff as cut:
            # The provider billed what it streamed before the cut: the settlement books it and adds it
            # to the run's totals at once (the visit may never commit: its run cancelled, its worker
            # dead); it is kept with this visit's spend for the step's own figures, keyed per attempt
            # so a retry adds its own.
            partial = cut.partial
            partial_cost = spend.cost_of(price, partial)
            with engine_storage("settling a cut-off call"):
                budgets.budget_settle(hold=hold, call=call, drawn=need, response=partial, cost=partial_cost,
                                      partial=True, latency_ms=(time.perf_counter() - started) * 1000,
                                      unpriced=spend.is_unpriced(price), sum_node_spend=sum_node_spend)
            self.spend.add(
                ("partial", index, self.attempt), partial.input_tokens, partial.output_tokens,
                partial.cached_tokens, partial_cost, in_run_totals=True,
            )
            raise
        except BaseException:
            self._allowance.undraw(hold, need)
            raise
        latency = (time.perf_counter() - started) * 1000
        cost = spend.cost_of(price, response)
        # The settlement and the call's journal row are one statement (one durable commit).
        with engine_storage("settling and journaling a call"):
            budgets.budget_settle(
                hold=hold, call=call, drawn=need, response=response, cost=cost,
                latency_ms=response.latency_ms or latency, unpriced=spend.is_unpriced(price),
                sum_node_spend=sum_node_spend, journal=journal_params(
                    run_id=self.run.id, lease_token=self.run.lease_token, visit=self.visit, call_index=index,
                    node=self.node, kind="llm", name=chosen, request_hash=digest, request=dumps(request.canonical()),
                    result=dumps(response.to_json()), provider=response.provider, model=response.model,
                    input_tokens=response.input_tokens, output_tokens=response.output_tokens,
                    cached_tokens=response.cached_tokens, cost=cost, latency_ms=response.latency_ms or latency,
                ),
            )
        self.spend.add(index, response.input_tokens, response.output_tokens, response.cached_tokens, cost)
        self.spend.models.add(chosen)
        return response

    def _check_llm_arguments(self, prompt: Any, messages: Any, system: Any, model: Any, max_tokens: Any,
                             temperature: Any) -> None:
        """Before anything is hashed, held or paid: a wrong type used to fail deep in the budget code
        (or reach the provider as a request it refuses), and be retried."""
        call = "ctx.llm()"
        for name, value in (("prompt", prompt), ("system", system), ("model", model)):
            if value is not None and not isinstance(value, str):
                raise _refuse(self.node, call, f"with {name}={value!r:.60}: it must be text (a str)")
        if messages is not None and not (isinstance(messages, (list, tuple)) and all(
                isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
                for m in messages)):
            raise _refuse(self.node, call, "with messages that are not a list of {'role': str, 'content': str} "
                          "dicts, e.g. messages=[{'role': 'user', 'content': 'Hello'}]")
        if prompt is None and not messages:
            raise _refuse(self.node, call, "with nothing to ask: give a prompt (ctx.llm('…')) or messages=[…]")
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise _refuse(self.node, call, f"with max_tokens={max_tokens!r:.60}: it must be a whole number of at "
                          "least 1")
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
            raise _refuse(self.node, call, f"with temperature={temperature!r:.60}: it must be a number")

    # --- side effects ---------------------------------------------------------------------------------
    def idempotency_key(self, index: int, name: str) -> str:
        return f"{self.run.thread_id}:{self.visit}:{index}:{name}"

    def effect(self, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run `fn(idempotency_key, *args, **kwargs)` once per node visit and journal its result.

        If the process dies after `fn` ran but before the journal row is written, `fn` runs again
        with the same key: the key is what lets the outside system drop the duplicate.
        """
        if not isinstance(name, str) or not name:
            shown = f"the function {name.__name__}" if callable(name) and hasattr(name, "__name__") else f"{name!r:.60}"
            raise _refuse(self.node, "ctx.effect()", f"with {shown} as its name: the first argument names the "
                          "effect (ctx.effect('send_email', send, to, body)), the function comes second")
        if not callable(fn):
            raise _refuse(self.node, "ctx.effect()", f"for {name!r} with a {type(fn).__name__} where the function "
                          "goes: ctx.effect(name, fn, *args) calls fn(idempotency_key, *args)")
        index = self._next_index()
        digest = request_hash([name, args, kwargs]) if _jsonable(args, kwargs) else request_hash([name])
        recorded = self._recorded(index, "effect", digest)
        if recorded is not None:
            return recorded.result
        key = self.idempotency_key(index, name)
        if self.run.is_fork and not self.run.allow_effects:
            self._journal_write(
                index, "effect", name=name,
                request_hash=digest, result=dumps({"dry_run": True}), idempotency_key=key, dry_run=True,
            )
            return None
        with engine_storage("checking the lease before an effect"):
            journal_fence(run_id=self.run.id, lease_token=self.run.lease_token, node=self.node,
                          action=f"effect {name!r}")
        result = fn(key, *args, **kwargs)
        try:
            encoded = check_serializable(self.node, {f"effect {name!r} result": result})
        except StateError as exc:
            raise EffectResultNotJournaled(
                f"{exc} The effect itself ran (idempotency key {key!r}) and is not run again by the node's "
                "retries: fix what it returns, then retry the run (it runs again with the same key, for the outside "
                "system to drop the repeat).") from None
        self._journal_write(
            index, "effect", name=name,
            request_hash=digest, result=next(iter(encoded.values())), idempotency_key=key,
        )
        return result

    # --- dynamic gates ---------------------------------------------------------------------------------
    def interrupt(self, request: GateRequest) -> GateDecision:
        """Suspend the run for a person; when resumed, this call returns their decision."""
        if not isinstance(request, GateRequest):
            raise _refuse(self.node, "ctx.interrupt()", f"with a {type(request).__name__}: it takes a "
                          "GateRequest(action=…, args=…, description=…)")
        index = self._next_index()
        row = self._journal_row(index)
        if row is not None and row.kind == "interrupt":
            return GateDecision.model_validate(row.result)
        raise Interrupt(request, index)


def _jsonable(*values: Any) -> bool:
    try:
        dumps(values)
    except (TypeError, ValueError):
        return False
    return True
