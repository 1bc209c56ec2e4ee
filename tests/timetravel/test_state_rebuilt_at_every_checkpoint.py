"""Property: the state rebuilt from storage at every checkpoint of a run equals the state the executor
had at that step — over random graphs, random JSON updates (append reducers, values above the blob
threshold, NUL characters), with snapshots every few steps."""

from __future__ import annotations

import itertools
from typing import Annotated, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from orchestrator import registry
from orchestrator.executor import run_advance
from orchestrator.graph import END, START, Graph, append
from orchestrator.history import state_at
from orchestrator.models import Blob, Checkpoint, RunStatus
from orchestrator.services import run_start
from orchestrator.state import hydrate_state

BLOB_THRESHOLD = 64
FIELDS = ("a", "b", "c", "big", "log")
_names = itertools.count()

keys = st.text(alphabet="abcdefghij", min_size=1, max_size=4)
strings = st.one_of(st.text(max_size=12), st.just("nul\x00inside"), st.just("\x00"))
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                    st.floats(allow_nan=False, allow_infinity=False), strings)
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(keys, inner, max_size=4)),
                           max_leaves=12)
big_values = st.text(min_size=BLOB_THRESHOLD + 10, max_size=400).map(lambda s: s + "\x00" + "x" * BLOB_THRESHOLD)


@st.composite
def updates(draw) -> dict[str, Any]:
    chosen = draw(st.sets(st.sampled_from(FIELDS), max_size=4))
    update: dict[str, Any] = {}
    for field in chosen:
        if field == "big":
            update[field] = draw(st.one_of(big_values, json_values))
        elif field == "log":
            update[field] = draw(st.lists(st.one_of(json_values, big_values), min_size=1, max_size=3))
        elif field == "c":
            update[field] = draw(st.one_of(strings, big_values))
        else:
            update[field] = draw(json_values)
    return update


programs = st.tuples(
    st.lists(st.text(alphabet="klmnopqrst", min_size=1, max_size=6), min_size=1, max_size=5, unique=True),
    st.lists(st.tuples(st.integers(0, 4), updates()), min_size=1, max_size=30),
)


class PropState(BaseModel):
    pc: int = 0
    a: Any = None
    b: Any = None
    c: str = ""
    big: Any = None
    log: Annotated[list[Any], append] = []


def _graph(node_names: list[str], program: list[tuple[int, dict[str, Any]]], seen: dict[int, dict]) -> Graph:
    """Node `program[pc][0]` runs at step pc and returns `program[pc][1]`; a router picks the next one."""
    names = [f"n_{name}" for name in node_names]
    path = [names[index % len(names)] for index, _ in program]

    def body(state: PropState, ctx) -> dict[str, Any]:
        seen[state.pc] = state.model_dump(mode="json")
        return {**program[state.pc][1], "pc": state.pc + 1}

    def route(state: PropState) -> str:
        return path[state.pc] if state.pc < len(path) else END

    graph = Graph(f"prop_{next(_names)}", state=PropState, max_visits=100)
    for name in names:
        graph.node(name, body)
        graph.router(name, route, [*names, END])
    graph.router(START, lambda state: path[0], names)
    return graph.validate()


@pytest.fixture
def small_storage(settings):
    settings.GATEHOUSE_BLOB_THRESHOLD = BLOB_THRESHOLD
    settings.GATEHOUSE_SNAPSHOT_EVERY = 3


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(program=programs)
def test_every_checkpoint_rebuilds_the_state_the_executor_had(transactional_db, small_storage, monkeypatch,
                                                              program):
    node_names, steps = program
    seen: dict[int, dict[str, Any]] = {}
    graph = _graph(node_names, steps, seen)
    known = registry.workflows()
    monkeypatch.setattr(registry, "workflows", lambda: {**known, graph.name: graph})

    run = run_start(workflow=graph.name)
    status = run_advance(run.pk, worker="property-test")

    assert status == RunStatus.COMPLETED
    run.refresh_from_db()
    assert run.step == len(steps)
    for step in range(run.step):
        assert hydrate_state(state_at(run.pk, step)) == seen[step], f"state at step {step}"
    # The last state no node saw: compute it by applying the updates to the schema's defaults.
    expected = PropState().model_dump(mode="json")
    for _index, update in steps:
        for key, value in update.items():
            expected[key] = expected[key] + value if key == "log" else value
    expected["pc"] = len(steps)
    assert hydrate_state(state_at(run.pk, run.step)) == expected
    # Snapshots are bounded: at least one every GATEHOUSE_SNAPSHOT_EVERY steps.
    snapshot_steps = list(Checkpoint.objects.filter(run=run, snapshot__isnull=False).values_list("step", flat=True))
    assert all(s in snapshot_steps for s in range(0, run.step + 1, 3))


def test_values_above_the_threshold_are_stored_once_as_blobs(transactional_db, small_storage, monkeypatch):
    seen: dict[int, dict[str, Any]] = {}
    text = "y" * 500 + "\x00"
    graph = _graph(["a", "b"], [(0, {"big": text}), (1, {"log": [text]}), (0, {"c": "small"})], seen)
    known = registry.workflows()
    monkeypatch.setattr(registry, "workflows", lambda: {**known, graph.name: graph})

    run = run_start(workflow=graph.name)
    run_advance(run.pk, worker="property-test")

    stored = state_at(run.pk, 3)
    assert stored["big"]["$blob"] == stored["log"][0]["$blob"]
    assert Blob.objects.filter(sha256=stored["big"]["$blob"]).count() == 1
    assert hydrate_state(stored)["big"] == text
