"""Executor benchmark: Gatehouse vs LangGraph's PostgresSaver, side by side on the same Postgres.

    .venv/bin/python bench/executor_vs_langgraph.py            # N = 10, 50, 200 (+ 4-process throughput)
    .venv/bin/python bench/executor_vs_langgraph.py --quick    # N = 10, 50

Both run the same graph: N trivial sequential nodes, each changing ~2 KB of state ("2kb"), and a
variant that also carries a 200 KB value set by the first node and never changed ("200kb").
Printed per system and N:
  ms/step      median wall time per step over the repeats (whole run / N: run start and end included)
  over base    ms/step above the no-persistence baseline (the same nodes run by LangGraph in memory)
  step median  the median single step (node + its checkpoint, one step's end to the next's) above the
               baseline's median single step: the "median overhead per step" the target names
  commits/step write transactions per step (xid delta)
  bytes/step   bytes of the rows the run stored (pg_column_size, after TOAST compression) / N
  WAL/step     WAL bytes generated / N
LangGraph runs with durability="sync" (the checkpoint is written before the next step starts),
the same guarantee Gatehouse gives. Requires the bench extra: pip install ".[bench]".
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
BENCH_DB = "gatehouse_bench"


def _bench_database_url(name: str = BENCH_DB) -> str:
    """Use (and create) a separate database on the configured or embedded server."""
    import psycopg

    from config.embedded import data_dir_from_env, embedded_urls

    base = os.environ.get("DATABASE_URL") or embedded_urls(data_dir_from_env(), need_redis=False)["database"]
    path, _, query = base.partition("?")

    def with_db(name: str) -> str:
        return path.rsplit("/", 1)[0] + f"/{name}" + (f"?{query}" if query else "")

    with psycopg.connect(with_db("postgres"), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    return with_db(name)


def _setup_django(database: str = BENCH_DB) -> str:
    """Point Django at a bench database of its own (created and migrated if needed)."""
    url = os.environ.get("GATEHOUSE_BENCH_URL") or _bench_database_url(database)
    os.environ["GATEHOUSE_BENCH_URL"] = url
    os.environ["DATABASE_URL"] = url
    # Development settings, as for every earlier figure: a DATABASE_URL alone would mean a deployment.
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()
    bench_queue()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return url


def bench_queue() -> str:
    """Send this process's (and its children's) RQ jobs to a Redis database of the bench's own
    (15 on the configured server), emptied first: a bench's runs live in the bench database, and
    their jobs must not wait in the product's queue for its workers to pick up."""
    import redis
    from django.conf import settings

    url = settings.REDIS_URL.rsplit("/", 1)[0] + "/15"
    settings.RQ_QUEUES["default"]["URL"] = url
    os.environ["REDIS_URL"] = url
    redis.Redis.from_url(url).flushdb()
    return url


def blob_for(counter: int) -> str:
    seed = hashlib.sha256(str(counter).encode()).hexdigest()
    return (seed * 32)[:2048]


BIG = "x" * (200 * 1024)


def gatehouse_graph(n: int, big: bool):
    from pydantic import BaseModel

    from orchestrator.graph import END, NO_RETRY, START, Graph

    class S(BaseModel):
        counter: int = 0
        blob: str = ""
        big: str = ""

    def step(state: S, ctx) -> dict:
        update = {"counter": state.counter + 1, "blob": blob_for(state.counter)}
        if big and state.counter == 0:
            update["big"] = BIG
        return update

    graph = Graph(f"bench_{n}_{'200kb' if big else '2kb'}", state=S, max_visits=10**6)
    names = [f"n{i}" for i in range(n)]
    for name in names:
        graph.node(name, step, retry=NO_RETRY)
    graph.edge(START, names[0])
    for a, b in zip(names, names[1:], strict=False):
        graph.edge(a, b)
    graph.edge(names[-1], END)
    return graph.validate()


def langgraph_builder(n: int, big: bool):
    from typing import TypedDict

    from langgraph.graph import END, START, StateGraph

    class S(TypedDict):
        counter: int
        blob: str
        big: str

    def step(state: S) -> dict:
        update = {"counter": state["counter"] + 1, "blob": blob_for(state["counter"])}
        if big and state["counter"] == 0:
            update["big"] = BIG
        return update

    builder = StateGraph(S)
    names = [f"n{i}" for i in range(n)]
    for name in names:
        builder.add_node(name, step)
    builder.add_edge(START, names[0])
    for a, b in zip(names, names[1:], strict=False):
        builder.add_edge(a, b)
    builder.add_edge(names[-1], END)
    return builder


def _xid(conn) -> int:
    return int(conn.execute("SELECT pg_current_xact_id()::text::bigint").fetchone()[0])


def _wal(conn) -> str:
    return conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]


def _wal_diff(conn, a: str, b: str) -> int:
    return int(conn.execute("SELECT pg_wal_lsn_diff(%s, %s)", [b, a]).fetchone()[0])


def run_gatehouse(n: int, big: bool, probe) -> dict:
    from orchestrator.executor import run_advance
    from orchestrator.registry import workflows
    from orchestrator.services import run_start

    graph = gatehouse_graph(n, big)
    workflows()[graph.name] = graph
    run = run_start(workflow=graph.name, input={})
    # The connection stays open, as LangGraph's saver's does: this measures the executor, not
    # connection set-up (an RQ job's work horse pays that once per job, not per step).
    xid0, wal0 = _xid(probe), _wal(probe)
    import orchestrator.executor as executor

    commit, done = executor.transition_commit, []

    def timed_commit(transition):  # a step ends when its commit returns
        commit(transition)
        done.append(time.perf_counter())

    executor.transition_commit = timed_commit
    try:
        started = time.perf_counter()
        status = run_advance(run.pk, worker="bench")
        elapsed = time.perf_counter() - started
    finally:
        executor.transition_commit = commit
    xid1, wal1 = _xid(probe), _wal(probe)
    assert status == "completed", status
    stored = probe.execute(
        "SELECT (SELECT coalesce(sum(pg_column_size(c.*)), 0) FROM orchestrator_checkpoint c"
        "         WHERE run_id = %(r)s AND step > 0)"
        " + (SELECT coalesce(sum(pg_column_size(l.*)), 0) FROM audit_ledgerentry l"
        "         WHERE run_id = %(r)s AND seq_run > 1)",
        {"r": run.pk},
    ).fetchone()[0]
    blobs = probe.execute("SELECT coalesce(sum(size), 0) FROM orchestrator_blob").fetchone()[0]
    return {"seconds": elapsed, "commits": xid1 - xid0 - 1, "stored": int(stored), "wal": _wal_diff(probe, wal0, wal1),
            "blob_bytes": int(blobs), "steps": _intervals(done)}


def _intervals(marks: list[float]) -> list[float]:
    """Seconds from one step's end to the next's (node + commit), for the per-step median."""
    return [b - a for a, b in zip(marks, marks[1:], strict=False)]


def run_langgraph(n: int, big: bool, url: str, probe, saver) -> dict:
    graph = langgraph_builder(n, big).compile(checkpointer=saver)
    thread = f"lg-{uuid.uuid4().hex[:8]}"
    config = {"configurable": {"thread_id": thread}, "recursion_limit": n + 10}
    xid0, wal0 = _xid(probe), _wal(probe)
    started, done = time.perf_counter(), []
    for _update in graph.stream({"counter": 0, "blob": "", "big": ""}, config, durability="sync",
                                stream_mode="updates"):
        done.append(time.perf_counter())
    elapsed = time.perf_counter() - started
    xid1, wal1 = _xid(probe), _wal(probe)
    stored = probe.execute(
        "SELECT (SELECT coalesce(sum(pg_column_size(c.*)), 0) FROM checkpoints c WHERE thread_id = %(t)s)"
        " + (SELECT coalesce(sum(pg_column_size(b.*)), 0) FROM checkpoint_blobs b WHERE thread_id = %(t)s)"
        " + (SELECT coalesce(sum(pg_column_size(w.*)), 0) FROM checkpoint_writes w WHERE thread_id = %(t)s)",
        {"t": thread},
    ).fetchone()[0]
    return {"seconds": elapsed, "commits": xid1 - xid0 - 1, "stored": int(stored), "wal": _wal_diff(probe, wal0, wal1),
            "steps": _intervals(done)}


def bare_commit_ms(probe, count: int = 300) -> float:
    """The floor: one durable single-row INSERT commit (prepared) on this server and disk."""
    probe.execute("CREATE TABLE IF NOT EXISTS bench_bare_commit (id bigserial PRIMARY KEY, v text)")
    times = []
    for _ in range(count):
        started = time.perf_counter()
        probe.execute("INSERT INTO bench_bare_commit (v) VALUES (%s)", ["x" * 100], prepare=True)
        times.append(time.perf_counter() - started)
    probe.execute("TRUNCATE bench_bare_commit")
    return statistics.median(times) * 1000


def run_baseline(n: int, big: bool) -> tuple[float, list[float]]:
    graph = langgraph_builder(n, big).compile()
    started, done = time.perf_counter(), []
    for _update in graph.stream({"counter": 0, "blob": "", "big": ""}, {"recursion_limit": n + 10},
                                stream_mode="updates"):
        done.append(time.perf_counter())
    return time.perf_counter() - started, _intervals(done)


def _throughput_worker(args: tuple[str, int, int]) -> int:
    url, runs, n = args
    os.environ["DATABASE_URL"] = url
    os.environ["GATEHOUSE_BENCH_URL"] = url
    import django

    django.setup()
    from orchestrator.executor import run_advance
    from orchestrator.registry import workflows
    from orchestrator.services import run_start

    graph = gatehouse_graph(n, False)
    workflows()[graph.name] = graph
    ids = [run_start(workflow=graph.name, input={}).pk for _ in range(runs)]
    steps = 0
    for run_id in ids:
        assert run_advance(run_id, worker=f"bench-{os.getpid()}") == "completed"
        steps += n
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    url = _setup_django()
    import psycopg
    from langgraph.checkpoint.postgres import PostgresSaver

    sizes = [10, 50] if args.quick else [10, 50, 200]
    probe = psycopg.connect(url, autocommit=True)
    rows = []
    blob_note: list[str] = []
    floor = bare_commit_ms(probe)
    with PostgresSaver.from_conn_string(url) as saver:
        saver.setup()
        # Warm both paths (imports, prepared statements) before measuring.
        run_gatehouse(5, False, probe)
        run_langgraph(5, False, url, probe, saver)
        for variant_big in (False, True):
            for n in sizes:
                label = f"N={n:<3} {'200kb' if variant_big else '2kb  '}"
                # Interleaved repeats, so a slow spell of the machine (its disk's fsync time varies)
                # lands on all three alike instead of on one system's block of runs.
                bases, gh, lg = [], [], []
                for _ in range(args.repeats):
                    bases.append(run_baseline(n, variant_big))
                    gh.append(run_gatehouse(n, variant_big, probe))
                    lg.append(run_langgraph(n, variant_big, url, probe, saver))
                base = statistics.median(b[0] for b in bases) / n
                base_step = statistics.median(x for b in bases for x in b[1]) * 1000
                if variant_big:
                    blob_note.append(f"{label}: the 200 KB value went to the blob store once "
                                     f"({gh[-1]['blob_bytes']:,} blob bytes in all; the state keeps a pointer)")
                for name, results in (("gatehouse", gh), ("langgraph", lg)):
                    ms = statistics.median(r["seconds"] for r in results) / n * 1000
                    rows.append({
                        "case": label, "system": name, "ms": ms, "over": ms - base * 1000,
                        "step_over": statistics.median(x for r in results for x in r["steps"]) * 1000 - base_step,
                        "commits": statistics.median(r["commits"] for r in results) / n,
                        "bytes": statistics.median(r["stored"] for r in results) / n,
                        "wal": statistics.median(r["wal"] for r in results) / n,
                    })
                print(f"  measured {label}", file=sys.stderr, flush=True)
    floor_after = bare_commit_ms(probe)
    probe.close()

    print(f"\nExecutor overhead per step (median of {args.repeats}; same Postgres, same graph)\n")
    print(f"{'case':<12} {'system':<10} {'ms/step':>8} {'over base':>10} {'step median':>12} {'commits/step':>13} "
          f"{'bytes/step':>11} {'WAL/step':>10}")
    for row in rows:
        print(f"{row['case']:<12} {row['system']:<10} {row['ms']:>8.3f} {row['over']:>10.3f} {row['step_over']:>12.3f} "
              f"{row['commits']:>13.2f} {row['bytes']:>11.0f} {row['wal']:>10.0f}")
    print(f"\nOne durable commit on this machine (single-row INSERT, prepared): {floor:.3f} ms before the runs, "
          f"{floor_after:.3f} ms after — the floor for any system that commits before the next step.")
    for note in dict.fromkeys(blob_note):
        print(note)
    print("\nRatios (LangGraph / Gatehouse, overhead above baseline):")
    for i in range(0, len(rows), 2):
        gh, lg = rows[i], rows[i + 1]
        ratio = lg["over"] / gh["over"]
        print(f"  {gh['case']}: {ratio:.1f}x faster, "
              f"{lg['bytes'] / max(gh['bytes'], 1):.1f}x fewer bytes, {lg['wal'] / max(gh['wal'], 1):.1f}x less WAL"
              f"   targets: median step overhead {gh['step_over']:.3f} ms ≤ 0.4 "
              f"{'OK' if gh['step_over'] <= 0.4 else 'ABOVE'}, "
              f"≥ 3x {'OK' if ratio >= 3 else 'BELOW'}")

    if not args.quick:
        procs, runs, n = 4, 10, 50
        started = time.perf_counter()
        with multiprocessing.get_context("spawn").Pool(procs) as pool:
            steps = sum(pool.map(_throughput_worker, [(url, runs, n)] * procs))
        elapsed = time.perf_counter() - started
        print(f"\nAggregate throughput: {steps} steps in {elapsed:.2f}s with {procs} worker processes "
              f"= {steps / elapsed:,.0f} steps/s (includes process start-up)")


if __name__ == "__main__":
    main()
