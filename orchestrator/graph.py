"""The workflow API: a typed state, nodes, edges, routers and gates.

    class Email(BaseModel):
        topic: str
        draft: str = ""
        log: Annotated[list[str], append] = []
        decision: GateDecision | None = None

    graph = Graph("email_approval", state=Email)
    graph.node("draft", draft)                      # fn(state, ctx) -> partial update (dict)
    graph.gate("review", request=review_request, on_reject=END, on_respond="draft")
    graph.node("send", send)
    graph.edge(START, "draft").edge("draft", "review").edge("review", "send").edge("send", END)

Nodes return partial updates. Fields replace by default; a field annotated with `append` extends
its list. Every outside call goes through `ctx` (see orchestrator.context) so it is journaled.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from pydantic import BaseModel, PydanticUserError, TypeAdapter, ValidationError, field_validator

START = "__start__"
END = "__end__"


def _shown(name: Any) -> str:
    """A node name as the workflow author wrote it: START and END by their constants' names, not
    the '__end__' strings behind them, which appear nowhere in their code."""
    return {START: "START", END: "END"}.get(name, repr(name)) if isinstance(name, str) else repr(name)


def _shown_list(names: Iterable[Any]) -> str:
    return "[" + ", ".join(_shown(n) for n in names) + "]"

DecisionKind = Literal["approve", "reject", "edit", "respond"]
ALL_DECISIONS: tuple[str, ...] = ("approve", "reject", "edit", "respond")


class _Append:
    """Reducer marker: `Annotated[list[X], append]` extends the list instead of replacing it."""

    def __repr__(self) -> str:
        return "append"


append = _Append()


class GateDecision(BaseModel):
    """What a person decided at a gate, as the workflow's state sees it."""

    decision: DecisionKind
    actor: str
    reason: str = ""
    response: str = ""
    edits: dict[str, Any] = {}


class GateRequest(BaseModel):
    """What a gate proposes, so the inbox can render it as a form a person reads.

    `args` are keyed by state field: an "edit" decision writes the edited values back to those
    fields, validated by the state schema (so types are preserved).
    """

    action: str
    args: dict[str, Any] = {}
    description: str = ""
    allowed: list[DecisionKind] = list(ALL_DECISIONS)
    relevant: list[str] = []
    risk: Literal["low", "medium", "high", "critical"] = "medium"
    reviewer_group: str = "reviewer"
    required_approvals: int = 1
    due_in_seconds: int | None = None
    on_expiry: Literal["reject", "escalate"] = "reject"
    escalate_to: str = "admin"

    @field_validator("reviewer_group", "escalate_to")
    @classmethod
    def _not_compliance(cls, group: str) -> str:
        # Deciding is a role's membership (review.permissions.may_decide); compliance only reads.
        if group == "compliance":
            raise ValueError("compliance only reads the record and may not decide gates; name a reviewer group")
        return group


@dataclass(frozen=True)
class RetryPolicy:
    """Per-node retries: exponential backoff with full jitter, only for the listed exceptions."""

    max_attempts: int = 3
    initial_delay: float = 0.2
    backoff: float = 2.0
    max_delay: float = 30.0
    retry_on: tuple[type[BaseException], ...] = (Exception,)

    def delay(self, attempt: int) -> float:
        ceiling = min(self.max_delay, self.initial_delay * self.backoff ** max(0, attempt - 1))
        return random.uniform(0, ceiling)

    def should_retry(self, exc: BaseException, attempt: int) -> bool:
        # An error that says it is not worth retrying (an unpriced model, a bad API key) is not,
        # whatever the policy's exception list says.
        if getattr(exc, "retryable", True) is False:
            return False
        return attempt < self.max_attempts and isinstance(exc, self.retry_on)


NO_RETRY = RetryPolicy(max_attempts=1)


@dataclass
class Node:
    name: str
    fn: Callable[..., Any] | None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    interrupt_before: bool = False
    interrupt_after: bool = False
    # For gates (a gate node, or interrupt_before/after): builds the request from the state.
    request: Callable[[Any], GateRequest] | None = None
    on_reject: str = END
    on_respond: str | None = None
    max_visits: int | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def is_gate(self) -> bool:
        return self.fn is None

    @property
    def asks(self) -> bool:
        """Whether a person decides here: a gate node, or a node with interrupt_before/after."""
        return self.is_gate or self.interrupt_before or self.interrupt_after


@dataclass
class Router:
    fn: Callable[[Any], str]
    targets: tuple[str, ...]


class GraphError(ValueError):
    """A workflow definition that cannot run; the message says what to change."""


class WorkflowCodeError(GraphError):
    """Workflow code that runs between nodes (a router, a gate's request builder) raised: the run
    fails naming it, rather than the job crashing and the reconciler retrying it for ever."""


# A workflow's name starts every generated thread id ("<name>-<10 hex>"), which must stay a valid
# thread id (orchestrator.services): 1-200 letters, digits, '.', '_', ':' or '-'.
_WORKFLOW_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,188}")


def _takes(fn: Any, count: int) -> bool:
    """Whether `fn` can be called with `count` positional arguments (True when Python cannot tell)."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # some builtins and C callables have no signature to read
        return True
    try:
        signature.bind(*range(count))
    except TypeError:
        return False
    return True


def _describe(fn: Any) -> str:
    name = getattr(fn, "__name__", None) or type(fn).__name__
    try:
        return f"{name}{inspect.signature(fn)}"
    except (TypeError, ValueError):
        return name


def _between_nodes(what: str, fn: Callable[[Any], Any], state: Any) -> Any:
    try:
        return fn(state)
    except GraphError:
        raise
    except Exception as exc:
        raise WorkflowCodeError(f"{what} raised {type(exc).__name__}: {exc}. Fix the workflow's code, then retry "
                                "the run.") from exc


class Graph:
    def __init__(
        self,
        name: str,
        *,
        state: type[BaseModel],
        description: str = "",
        decision_field: str = "decision",
        max_visits: int = 50,
        required_labels: tuple[str, ...] = (),
    ) -> None:
        if not isinstance(name, str) or not _WORKFLOW_NAME.fullmatch(name):
            raise GraphError(f"workflow name {name!r} is not allowed: it starts every run's thread id, so use 1 to "
                             "189 letters, digits, '.', '_', ':' or '-', starting with a letter or digit.")
        self.name = name
        if not (isinstance(state, type) and issubclass(state, BaseModel)):
            raise GraphError(f"{name}: state= takes a pydantic model class (class MyState(BaseModel): ...), not "
                             f"{state!r:.60}.")
        self.state = state
        self.description = description
        self.decision_field = decision_field
        self.max_visits = max_visits
        # Labels a run of this workflow must be started with (e.g. ("customer",)): label-scoped
        # budgets and chargeback count a run by its labels, so one started without them would
        # escape its customer's cap unnoticed.
        self.required_labels = tuple(required_labels)
        self.nodes: dict[str, Node] = {}
        self.edges: dict[str, str] = {}
        self.routers: dict[str, Router] = {}
        self._reducers: dict[str, str] | None = None
        self._version: str | None = None

    # --- building -----------------------------------------------------------------------------
    def node(self, name: str, fn: Callable[..., Any], **options: Any) -> Graph:
        self._check_new(name)
        known = [f.name for f in fields(Node) if f.name not in ("name", "fn")]
        unknown = [key for key in options if key not in known]
        if unknown:
            raise GraphError(f"{self.name}: node {name!r} got unknown option{'s' if len(unknown) > 1 else ''} "
                             f"{', '.join(unknown)}; the options are {', '.join(known)}.")
        self._check_callable(fn, 2, f"node {name!r}", "fn(state, ctx) -> dict")
        if "retry" in options and not isinstance(options["retry"], RetryPolicy):
            raise GraphError(f"{self.name}: node {name!r} got retry={options['retry']!r}; give a RetryPolicy, "
                             "e.g. retry=RetryPolicy(max_attempts=3), or NO_RETRY.")
        gate_options = [key for key in ("request", "on_reject", "on_respond") if key in options]
        if gate_options and not (options.get("interrupt_before") or options.get("interrupt_after")):
            # Silently ignored, `request=` alone would read as an approval gate, and the node would run
            # (and act) without anyone being asked.
            raise GraphError(f"{self.name}: node {name!r} has {'= and '.join(gate_options)}= but no gate, so it would "
                             "run without asking anyone: add interrupt_before=True (ask before it runs) or "
                             "interrupt_after=True (ask after), or make the gate its own node with graph.gate(...).")
        if options.get("request") is not None:
            self._check_callable(options["request"], 1, f"the gate request builder of {name!r}",
                                 "fn(state) -> GateRequest")
        self.nodes[name] = Node(name=name, fn=fn, **options)
        return self

    def gate(
        self,
        name: str,
        *,
        request: Callable[[Any], GateRequest],
        on_reject: str = END,
        on_respond: str | None = None,
    ) -> Graph:
        """A dedicated gate node: the run suspends here until a person decides."""
        self._check_new(name)
        self._check_callable(request, 1, f"the gate request builder of {name!r}", "fn(state) -> GateRequest")
        self.nodes[name] = Node(name=name, fn=None, request=request, on_reject=on_reject, on_respond=on_respond)
        return self

    def edge(self, source: str, target: str) -> Graph:
        if source in self.edges or source in self.routers:
            raise GraphError(f"{self.name}: node {source!r} already has an outgoing edge or router.")
        self.edges[source] = target
        return self

    def router(self, source: str, fn: Callable[[Any], str], targets: Iterable[str]) -> Graph:
        """A conditional edge: `fn(state)` returns the name of the next node (one of `targets`)."""
        if source in self.edges or source in self.routers:
            raise GraphError(f"{self.name}: node {source!r} already has an outgoing edge or router.")
        self._check_callable(fn, 1, f"the router after {source!r}", "fn(state) -> the next node's name")
        if isinstance(targets, str):  # tuple("send") would be the targets 's', 'e', 'n', 'd'
            raise GraphError(f"{self.name}: the router after {source!r} takes targets as a list of node names, "
                             f"e.g. targets=[{targets!r}, END], not one string.")
        if not targets:
            raise GraphError(f"{self.name}: the router after {source!r} names no targets; list every node it may "
                             "return (END included, if it may end the run).")
        self.routers[source] = Router(fn=fn, targets=tuple(targets))
        return self

    def _check_callable(self, fn: Any, count: int, what: str, expected: str) -> None:
        """Refused here, where the workflow is defined, rather than by the first run that gets there
        (after retries, or with a reviewer already waiting on the gate before it)."""
        if not callable(fn):
            hint = " (pass a function that builds it from the state)" if isinstance(fn, GateRequest) else ""
            raise GraphError(f"{self.name}: {what} must be a function {expected}, not a {type(fn).__name__}{hint}.")
        if not _takes(fn, count):
            raise GraphError(f"{self.name}: {what} is called as {expected}, but {_describe(fn)} cannot be called "
                             "so: give it exactly those parameters.")

    def _check_new(self, name: str) -> None:
        if not isinstance(name, str):
            raise GraphError(f"{self.name}: node names are text, not {type(name).__name__} {name!r}.")
        if name in (START, END) or not name:
            raise GraphError(f"{self.name}: {name!r} is reserved.")
        if name in self.nodes:
            raise GraphError(f"{self.name}: node {name!r} is defined twice.")

    # --- checking -----------------------------------------------------------------------------
    def validate(self) -> Graph:
        known = set(self.nodes) | {END}
        if START not in self.edges and START not in self.routers:
            raise GraphError(f"{self.name}: add an edge from START to the first node.")
        for source, target in self.edges.items():
            if source != START and source not in self.nodes:
                raise GraphError(f"{self.name}: edge from unknown node {source!r}.")
            if target == START:
                first = f" ({self.edges[START]!r})" if START in self.edges else ""
                raise GraphError(f"{self.name}: edge from {source!r} to START: a run cannot go back to its start; "
                                 f"name the first node instead{first}.")
            if target not in known:
                raise GraphError(f"{self.name}: edge from {source!r} to unknown node {_shown(target)}.")
        for source, router in self.routers.items():
            if source != START and source not in self.nodes:
                raise GraphError(f"{self.name}: router after unknown node {source!r}.")
            unknown = [t for t in router.targets if t not in known]
            if unknown:
                raise GraphError(f"{self.name}: router on {source!r} names unknown nodes {_shown_list(unknown)}.")
        for node in self.nodes.values():
            if node.name not in self.edges and node.name not in self.routers:
                raise GraphError(f"{self.name}: node {node.name!r} has no outgoing edge (add one, to END if last).")
            for target in (node.on_reject, node.on_respond):
                if target is not None and target not in known:
                    raise GraphError(f"{self.name}: gate {node.name!r} routes to unknown node {_shown(target)}.")
            if node.asks and node.request is None:
                raise GraphError(f"{self.name}: gate at {node.name!r} needs request=fn(state) -> GateRequest.")
        has_gate = any(n.asks for n in self.nodes.values())
        if has_gate and self.decision_field not in self.state.model_fields:
            raise GraphError(
                f"{self.name}: the state schema needs a field {self.decision_field!r} "
                f"(type GateDecision | None) so gate decisions reach the state."
            )
        if has_gate:
            self._check_decision_field()
        self._check_json_schema()
        self._check_paths()
        return self

    def _check_decision_field(self) -> None:
        """A decision lands in this field when a person decides: a type that refuses it would fail the
        decision, with the reviewer at the gate, instead of the deploy."""
        sample = GateDecision(decision="approve", actor="reviewer").model_dump(mode="json")
        try:
            TypeAdapter(self.state.model_fields[self.decision_field].annotation).validate_python(sample)
        except (ValidationError, PydanticUserError):
            raise GraphError(f"{self.name}: the state field {self.decision_field!r} receives gate decisions: declare "
                             "it as GateDecision | None = None.") from None

    def _check_json_schema(self) -> None:
        """State is stored as JSON and its schema versions the workflow: a field type with no JSON form
        would otherwise fail the first `runs workflows`, run start or page that needs the version."""
        try:
            self.state.model_json_schema()
        except PydanticUserError:
            pass
        else:
            return
        for name, info in self.state.model_fields.items():
            try:
                TypeAdapter(info.annotation).json_schema()
            except PydanticUserError:
                shown = getattr(info.annotation, "__name__", None) or repr(info.annotation)
                raise GraphError(f"{self.name}: state field {name!r} has type {shown}, which has no JSON form (state "
                                 "is stored as JSON): use str, int, float, bool, lists, dicts, nested pydantic "
                                 "models, or date/datetime (read back from ISO text).") from None
        raise GraphError(f"{self.name}: the state schema {self.state.__name__} has no JSON form (state is stored as "
                         "JSON): use JSON types in its fields and validators.")

    def exits(self, source: str) -> list[tuple[str, str]]:
        """Where a run may go after `source`, as (target, kind) pairs: kind is edge, route (a router's
        target), reject or respond (a gate's routes; a rejection goes to END unless on_reject says)."""
        out = [(self.edges[source], "edge")] if source in self.edges else []
        if source in self.routers:
            out.extend((target, "route") for target in self.routers[source].targets)
        node = self.nodes.get(source)
        if node is not None and node.asks:
            out.extend((target, kind) for target, kind in ((node.on_reject, "reject"), (node.on_respond, "respond"))
                       if target)
        return out

    def _next_nodes(self, source: str) -> set[str]:
        return {target for target, _kind in self.exits(source)}

    def _check_paths(self) -> None:
        """Every node is reached from START and can reach END: a node nothing leads to never runs (an
        edge misspelt elsewhere, usually), and a loop with no way out runs until the loop guard stops it."""
        reached, todo = set(), [START]
        while todo:
            for target in self._next_nodes(todo.pop()) - reached:
                reached.add(target)
                if target != END:
                    todo.append(target)
        unreached = [name for name in self.nodes if name not in reached]
        if unreached:
            raise GraphError(f"{self.name}: no edge or router leads to {', '.join(map(repr, unreached))} from START, so "
                             "it would never run: add an edge to it, or remove it.")
        ending = {END}
        grew = True
        while grew:
            grew = False
            for name in self.nodes:
                if name not in ending and self._next_nodes(name) & ending:
                    ending.add(name)
                    grew = True
        stuck = [name for name in self.nodes if name not in ending]
        if stuck:
            raise GraphError(f"{self.name}: from {', '.join(map(repr, stuck))} no path leads to END, so a run would "
                             "loop until the loop guard stops it: give one of them an edge or router target towards "
                             "END.")

    @property
    def reducers(self) -> dict[str, str]:
        """Field name -> "append" for list fields annotated with `append` (others replace)."""
        if self._reducers is None:
            self._reducers = {
                name: "append"
                for name, info in self.state.model_fields.items()
                if any(isinstance(m, _Append) for m in info.metadata)
            }
        return self._reducers

    # --- routing ------------------------------------------------------------------------------
    def next_after(self, source: str, state: BaseModel) -> str:
        if source in self.routers:
            router = self.routers[source]
            target = _between_nodes(f"{self.name}: the router after {source!r}", router.fn, state)
            if target not in router.targets:
                raise GraphError(
                    f"{self.name}: router after {source!r} returned {_shown(target)}; expected one of "
                    f"{_shown_list(router.targets)}."
                )
            return target
        return self.edges[source]

    def takes_response(self, node: str, *, dynamic: bool) -> bool:
        """Whether a "respond" decision at node's gate has somewhere to go: a ctx.interrupt() hands it
        to its node; a static gate only along its on_respond route. Without one, a response would
        carry the action out like an approval, past four eyes and separation of duties."""
        return dynamic or (node in self.nodes and self.nodes[node].on_respond is not None)

    def gate_request(self, node: str, state: BaseModel) -> GateRequest:
        """What node's gate asks a person, built by its request builder from the state."""
        return _between_nodes(f"{self.name}: the gate request builder of {node!r}", self.nodes[node].request, state)

    # --- versioning ---------------------------------------------------------------------------
    def structure(self) -> dict[str, Any]:
        return {
            "nodes": sorted(
                [n.name, n.is_gate, n.interrupt_before, n.interrupt_after, n.on_reject, n.on_respond]
                for n in self.nodes.values()
            ),
            "edges": sorted(self.edges.items()),
            "routers": sorted((s, list(r.targets)) for s, r in self.routers.items()),
            "schema": self.state.model_json_schema(),
        }

    @property
    def version(self) -> str:
        """"<structure hash>.<code hash>": a structural change is incompatible for runs in flight;
        a code-only change (a bug fix in a node) is compatible and recorded."""
        if self._version is None:
            structure = hashlib.sha256(json.dumps(self.structure(), sort_keys=True, default=str).encode())
            code = hashlib.sha256()
            fns = [n.fn for n in self.nodes.values()] + [n.request for n in self.nodes.values()]
            fns += [r.fn for r in self.routers.values()]
            for fn in fns:
                if fn is not None:
                    try:
                        code.update(inspect.getsource(fn).encode())
                    except (OSError, TypeError):
                        code.update(getattr(fn, "__qualname__", repr(fn)).encode())
            self._version = f"{structure.hexdigest()[:12]}.{code.hexdigest()[:12]}"
        return self._version


def versions_compatible(old: str, new: str) -> bool:
    return old.split(".")[0] == new.split(".")[0]
