"""Time travel on a 10,000-step run: timeline first page, any checkpoint's state, a fork.

    .venv/bin/python bench/timeline_10k.py            # BENCH_STEPS=10000 by default

Runs in a throwaway database (gatehouse_bench_timeline) on the configured Postgres, built by
the real executor from a trivial looping graph. Targets (issue #5): timeline first page < 300 ms
server time, any checkpoint's state rebuilt < 50 ms, a fork created < 20 ms.

If LangGraph is installed (`pip install langgraph langgraph-checkpoint-postgres`, the optional
`bench` extra) the same 10,000-step loop runs on its PostgresSaver in the same database and its
get_state_history / get_state / update_state are timed side by side. Otherwise the published
reference figures are printed, labelled as references.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
os.environ.setdefault("DEBUG", "1")  # development settings, also with a DATABASE_URL of your own

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

STEPS = int(os.environ.get("BENCH_STEPS", "10000"))
SAMPLES = 50
DB_NAME = "gatehouse_bench_timeline"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


def summary(label: str, times: list[float], target: float | None = None) -> None:
    times = sorted(times)
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    verdict = ""
    if target is not None:
        verdict = f"  target < {target * 1000:.0f} ms: {'OK' if p95 < target else 'MISSED'}"
    print(f"  {label:<44} median {ms(statistics.median(times))}  p95 {ms(p95)}  (n={len(times)}){verdict}")


def _gatehouse_graph():
    from pydantic import BaseModel

    from orchestrator.graph import END, START, Graph

    class Tick(BaseModel):
        n: int = 0
        note: str = ""

    def tick(state: Tick, ctx) -> dict:
        return {"n": state.n + 1, "note": f"tick {state.n}"}

    graph = Graph("bench_tick", state=Tick, max_visits=STEPS + 10)
    graph.node("tick", tick)
    graph.edge(START, "tick")
    graph.router("tick", lambda s: END if s.n >= STEPS else "tick", ["tick", END])
    return graph.validate()


def bench_gatehouse() -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    from orchestrator import registry
    from orchestrator.executor import run_advance
    from orchestrator.forks import run_fork
    from orchestrator.history import state_at
    from orchestrator.models import Run
    from orchestrator.services import run_start

    graph = _gatehouse_graph()
    known = registry.workflows()
    registry.workflows = lambda: {**known, graph.name: graph}
    import orchestrator.queue as queue

    queue.run_enqueue = lambda run_id: None  # the bench advances in-process; no Redis job needed
    import orchestrator.forks as forks
    import orchestrator.services as services

    forks.run_enqueue = services.run_enqueue = queue.run_enqueue

    print(f"Gatehouse: building a {STEPS}-step run with the executor "
          f"(snapshot every {settings.GATEHOUSE_SNAPSHOT_EVERY} steps)…")
    started = time.perf_counter()
    run = run_start(workflow=graph.name, thread_id="bench-10k")
    Run.objects.filter(pk=run.pk).update(overrides={"step_cap": STEPS + 10})
    status = run_advance(run.pk, worker="bench")
    run.refresh_from_db()
    build = time.perf_counter() - started
    print(f"  built: status {status}, {run.step} checkpoints in {build:.1f} s ({build / run.step * 1000:.2f} ms/step)")

    user = get_user_model().objects.create_user("bench-engineer", password="x")
    user.groups.add(Group.objects.get_or_create(name="engineer")[0])
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    for _ in range(3):  # warm caches (templates, graph layout, connections)
        client.get(f"/runs/{run.thread_id}/")
    page, fragment = [], []
    for _ in range(20):
        t0 = time.perf_counter()
        response = client.get(f"/runs/{run.thread_id}/")
        page.append(time.perf_counter() - t0)
        assert response.status_code == 200
        t0 = time.perf_counter()
        client.get(f"/runs/{run.thread_id}/timeline/?after={random.randrange(run.step - 60)}",
                   HTTP_HX_REQUEST="true")
        fragment.append(time.perf_counter() - t0)
    summary("run page (header, graph, timeline p.1, chart)", page, 0.300)
    summary("timeline page at a random offset (htmx)", fragment, 0.300)

    rebuild = []
    for _ in range(200):
        step = random.randrange(run.step + 1)
        t0 = time.perf_counter()
        state = state_at(run.pk, step)
        rebuild.append(time.perf_counter() - t0)
        assert state["n"] == step
    summary("state_at(any checkpoint)", rebuild, 0.050)

    fork_times = []
    for _ in range(SAMPLES):
        step = random.randrange(run.step)
        t0 = time.perf_counter()
        run_fork(run=run, at_step=step, mode="recorded", actor=user)
        fork_times.append(time.perf_counter() - t0)
    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(20):
            run_fork(run=run, at_step=random.randrange(run.step), mode="recorded", actor=user)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    summary("run_fork(any checkpoint)", fork_times, 0.020)
    edit_times = []
    for _ in range(SAMPLES):
        step = random.randrange(run.step)
        t0 = time.perf_counter()
        run_fork(run=run, at_step=step, edits={"note": "edited"}, mode="recorded", actor=user)
        edit_times.append(time.perf_counter() - t0)
    summary("run_fork(any checkpoint, with a validated edit)", edit_times, 0.020)


def bench_langgraph() -> None:
    try:
        import operator  # noqa: F401
        from typing import TypedDict

        from langgraph.checkpoint.postgres import PostgresSaver
        from langgraph.graph import END, START, StateGraph
    except ImportError:
        print("\nLangGraph is not installed (pip install langgraph langgraph-checkpoint-postgres).")
        print("  REFERENCE figures (published, not measured here): get_state_history over 200 snapshots")
        print("  ~160 ms; update_state on an old checkpoint 4-5 ms.")
        return

    class S(TypedDict):
        n: int
        note: str

    def tick(state: S) -> dict:
        return {"n": state["n"] + 1, "note": f"tick {state['n']}"}

    builder = StateGraph(S)
    builder.add_node("tick", tick)
    builder.add_edge(START, "tick")
    builder.add_conditional_edges("tick", lambda s: END if s["n"] >= STEPS else "tick", ["tick", END])
    connection.ensure_connection()
    conninfo = connection.connection.info.dsn
    if connection.settings_dict.get("PASSWORD"):
        conninfo += f" password={connection.settings_dict['PASSWORD']}"
    print(f"\nLangGraph (PostgresSaver, same database): building a {STEPS}-step run…")
    with PostgresSaver.from_conn_string(conninfo) as saver:
        saver.setup()
        app = builder.compile(checkpointer=saver)
        config = {"configurable": {"thread_id": "bench-10k"}, "recursion_limit": STEPS + 10}
        started = time.perf_counter()
        app.invoke({"n": 0, "note": ""}, config)
        build = time.perf_counter() - started
        print(f"  built in {build:.1f} s ({build / STEPS * 1000:.2f} ms/step)")
        history50, history200 = [], []
        for _ in range(10):
            t0 = time.perf_counter()
            list(app.get_state_history(config, limit=50))
            history50.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            snapshots = list(app.get_state_history(config, limit=200))
            history200.append(time.perf_counter() - t0)
        summary("get_state_history(limit=50)  ~ timeline p.1", history50)
        summary("get_state_history(limit=200)", history200)
        # Old checkpoints: walk back through the history once to collect their configs.
        every = list(app.get_state_history(config))
        olds = random.sample(every, min(SAMPLES, len(every)))
        get_times, update_times = [], []
        for snap in olds:
            t0 = time.perf_counter()
            app.get_state(snap.config)
            get_times.append(time.perf_counter() - t0)
        for snap in olds[:SAMPLES]:
            t0 = time.perf_counter()
            app.update_state(snap.config, {"note": "edited"})
            update_times.append(time.perf_counter() - t0)
        summary("get_state(old checkpoint)  ~ state_at", get_times)
        summary("update_state(old checkpoint)  ~ a fork", update_times)
        print(f"  ({len(snapshots)} snapshots per history page; {len(every)} checkpoints in total)")


def main() -> None:
    test_name = settings.DATABASES["default"].setdefault("TEST", {})
    test_name["NAME"] = DB_NAME
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        random.seed(7)
        bench_gatehouse()
        bench_langgraph()
    finally:
        connection.creation.destroy_test_db(DB_NAME, verbosity=0)


if __name__ == "__main__":
    main()
