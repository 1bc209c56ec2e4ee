"""Budget enforcement: per-call overhead of reserve + settle, and spend accuracy under concurrency.

    .venv/bin/python bench/budget_overhead.py [--calls 2000] [--runs 16] [--workers 4]

1. Overhead: what budgets add around each provider call, exactly as ctx.llm does it — drawing
   the call's maximum from the job's hold (reserving a hold on every applicable budget when the
   job has none that covers it), settling the real cost with the attributed spend row (inside the
   journal write the call needs anyway), and giving the hold back when the job ends — timed as
   paired blocks of (budgets + journal write) against (journal write alone), with four applicable
   budgets (global, workflow, label, per-run). Target ≤ 0.3 ms.
2. Accuracy: 16 runs of a 4-call workflow in real RQ worker processes against one hard cap that
   fits about six of them. Overshoot (spent − cap, if positive) must be 0; no hold may be left.

Runs against a scratch database `gatehouse_bench` on the embedded (or configured) Postgres.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
PROBE = "tests.costs.probe_workflow"

from bench.executor_vs_langgraph import _setup_django, bench_queue  # noqa: E402


def _reset() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE orchestrator_budgetreservation, orchestrator_spendevent, orchestrator_costalert,"
            " orchestrator_budgetusage, orchestrator_budget RESTART IDENTITY CASCADE"
        )


def bench_overhead(calls: int) -> dict[str, float]:
    """Per call: (reserve + settle-with-journal) against (the journal write alone), in paired blocks.

    A priced call always writes its journal row after the provider answers (write-ahead, see
    orchestrator.journal); with budgets, that same statement also settles. So what budgets add is
    the reserve round trip before the call plus the settlement's extra work in the journal write.
    """
    import gc

    from orchestrator import budgets
    from orchestrator.budgets import Allowance, CallRef, budget_settle, max_cost, node_spend_wanted
    from orchestrator.journal import journal_params, journal_write
    from orchestrator.llm import LLMRequest, LLMResponse
    from orchestrator.models import Budget, Run
    from orchestrator.services import run_start
    from orchestrator.spend import cost_of, price_for

    _reset()
    for name, scope, match, period in [("all", "global", "", "monthly"), ("wf", "workflow", "cost_probe", "daily"),
                                       ("legal", "label", "department=legal", "monthly"),
                                       ("per run", "run", "", "total")]:
        Budget.objects.create(name=name, scope=scope, match=match, period=period, cap=Decimal("1000000"),
                              soft_thresholds=[50, 80])
    # Realistic shape: runs of 20 calls over 4 nodes (5 calls per node per run).
    runs = [run_start(workflow="cost_probe", input={}, labels={"department": "legal"})
            for _ in range((calls + 50) // 20 + 1)]
    Run.objects.filter(pk__in=[r.pk for r in runs]).update(status="running", lease_token=1)
    request = LLMRequest(model="demo-small", messages=({"role": "user", "content": "a short prompt " * 20},),
                         max_tokens=300)
    response = LLMResponse(text="ok " * 40, model="demo-small", provider="demo", input_tokens=84, output_tokens=120)
    price = price_for("demo-small")
    amount, cost = max_cost(price, request), cost_of(price, response)
    counter = iter(range(10**9))

    # The call's journal row, the same in both variants.
    call_fields = {"kind": "llm", "name": "demo-small", "request_hash": "0" * 64, "request": '{"messages":[]}',
                   "result": '{"text":"ok"}', "provider": "demo", "model": "demo-small", "input_tokens": 84,
                   "output_tokens": 120, "cost": cost, "latency_ms": 1.0}

    # One job per run of 20 calls: its Allowance is given back when the job moves to the next run.
    job = {"run": None, "allowance": Allowance()}
    reserves = [0]
    real_reserve = budgets.budget_reserve

    def counted_reserve(**kwargs):
        reserves[0] += 1
        return real_reserve(**kwargs)

    budgets.budget_reserve = counted_reserve

    def with_budgets() -> None:
        i = next(counter)
        run = runs[(i // 20) % len(runs)]
        if job["run"] is not run:
            job["allowance"].close()
            job["run"], job["allowance"] = run, Allowance()
        node = f"node{(i // 5) % 4}"
        call = CallRef(run_id=run.pk, lease_token=1, workflow="cost_probe", labels={"department": "legal"},
                       node=node, visit=0, call_index=i, attempt=1, model="demo-small")
        sum_node_spend = node_spend_wanted(call)  # as ctx.llm asks it, before the call
        hold = job["allowance"].draw(call=call, amount=amount)
        budget_settle(hold=hold, call=call, drawn=amount, response=response, cost=cost, latency_ms=1.0,
                      sum_node_spend=sum_node_spend, journal=journal_params(run_id=run.pk, lease_token=1, visit=0, call_index=i, node=node,
                                             **call_fields))

    def without_budgets() -> None:
        i = next(counter)
        run = runs[(i // 20) % len(runs)]
        journal_write(run_id=run.pk, lease_token=1, visit=0, call_index=i, node=f"node{(i // 5) % 4}", **call_fields)

    for _ in range(50):  # warm-up: connection, prepared statements, the p95 cache, usage rows
        with_budgets()
        without_budgets()
    block = 50
    with_ms: list[float] = []
    without_ms: list[float] = []
    gc.disable()
    try:
        for n in range(max(1, calls // block)):
            pair = ((with_budgets, with_ms), (without_budgets, without_ms))
            for fn, out in pair if n % 2 == 0 else pair[::-1]:
                began = time.perf_counter()
                for _ in range(block):
                    fn()
                out.append((time.perf_counter() - began) * 1000 / block)
            gc.collect()
    finally:
        gc.enable()
        job["allowance"].close()
        budgets.budget_reserve = real_reserve
    from django.db import connection

    ping_ms = []
    with connection.cursor() as cursor:
        for _ in range(500):
            t0 = time.perf_counter()
            cursor.execute("SELECT 1")
            cursor.fetchone()
            ping_ms.append((time.perf_counter() - t0) * 1000)
    added = [a - b for a, b in zip(with_ms, without_ms, strict=True)]
    return {
        "ping_median": statistics.median(ping_ms), "blocks": len(added),
        "with_median": statistics.median(with_ms), "without_median": statistics.median(without_ms),
        "added_median": statistics.median(added), "added_p95": statistics.quantiles(added, n=20)[18],
        "calls_per_hold": (50 + len(with_ms) * block) / max(1, reserves[0]),
    }


def bench_accuracy(db_url: str, runs: int, workers: int) -> dict[str, object]:
    from django.conf import settings
    from django.db.models import Sum

    from orchestrator.executor import run_advance
    from orchestrator.models import Budget, BudgetReservation, BudgetUsage, Run, SpendEvent
    from orchestrator.services import run_start

    _reset()
    bench_redis = bench_queue()
    reference = run_start(workflow="cost_probe", input={"calls": 2})
    run_advance(reference.pk, worker="bench")
    per_run = SpendEvent.objects.filter(run=reference).aggregate(s=Sum("cost"))["s"]
    cap = (per_run * Decimal("6.5")).quantize(Decimal("0.000001"))
    budget = Budget.objects.create(name="hard cap", scope="workflow", match="cost_probe", period="total", cap=cap)
    ids = [run_start(workflow="cost_probe", input={"calls": 2}).pk for _ in range(runs)]
    # DEBUG as in this process: a DATABASE_URL alone would mean a deployment (debug off).
    env = {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": bench_redis,
           "GATEHOUSE_WORKFLOWS": ",".join(dict.fromkeys([*settings.GATEHOUSE_WORKFLOWS, PROBE])),
           "GATEHOUSE_DEMO_LLM_LATENCY_MS": "40", "PYTHONPATH": str(ROOT)}
    log = open(ROOT / ".local" / "bench-workers.log", "wb")  # noqa: SIM115 - kept open for the children
    started = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "manage.py", "rqworker", "default", "--burst"], cwd=ROOT, env=env,
                              stdout=log, stderr=subprocess.STDOUT) for _ in range(workers)]
    for proc in procs:
        proc.wait(timeout=600)
    elapsed = time.perf_counter() - started
    usage = BudgetUsage.objects.get(budget=budget)
    spent = SpendEvent.objects.filter(run_id__in=ids).aggregate(s=Sum("cost"))["s"] or Decimal(0)
    statuses = list(Run.objects.filter(pk__in=ids).values_list("status", "suspended_reason"))
    return {
        "cap": cap, "spent": spent, "budget_spent": usage.spent, "overshoot": max(Decimal(0), spent - cap),
        "completed": sum(1 for s in statuses if s[0] == "completed"),
        "suspended": sum(1 for s in statuses if s == ("suspended", "budget_exceeded")),
        "other": sum(1 for s in statuses if s[0] not in ("completed",) and s != ("suspended", "budget_exceeded")),
        "holds_left": BudgetReservation.objects.count(), "reserved_left": usage.reserved,
        "utilisation": float(spent / cap * 100), "seconds": elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    db_url = _setup_django()  # the bench database, its own RQ queue; the URL is for the workers
    from django.conf import settings

    if PROBE not in settings.GATEHOUSE_WORKFLOWS:
        settings.GATEHOUSE_WORKFLOWS = [*settings.GATEHOUSE_WORKFLOWS, PROBE]

    o = bench_overhead(args.calls)
    print(f"budget overhead per LLM call ({args.calls} calls, 4 applicable budgets, {o['blocks']} paired blocks):")
    load = os.getloadavg()[0]
    print(f"  (machine: {os.cpu_count()} cores, load average {load:.1f}; a bare SELECT 1 round trip: median "
          f"{o['ping_median']:.3f} ms)")
    print(f"  journal write alone (every priced call)       median {o['without_median']:.3f} ms")
    print(f"  with budgets (draw, settle-with-journal, a hold per job of 20 calls: {o['calls_per_hold']:.1f} calls "
          f"per hold)  median {o['with_median']:.3f} ms")
    print(f"  added by budgets: median {o['added_median']:.3f} ms, p95 of blocks {o['added_p95']:.3f} ms   "
          f"target ≤ 0.300 ms → {'OK' if o['added_median'] <= 0.3 else 'ABOVE TARGET'}")
    a = bench_accuracy(db_url, args.runs, args.workers)
    print(f"spend accuracy: {args.runs} concurrent runs, {args.workers} worker processes, one hard cap:")
    print(f"  cap ${a['cap']:.6f}  spent ${a['spent']:.6f} ({a['utilisation']:.1f}% of cap)  "
          f"budget row ${a['budget_spent']:.6f}")
    print(f"  overshoot ${a['overshoot']:.6f} (must be 0) → {'OK' if a['overshoot'] == 0 else 'FAIL'}")
    print(f"  runs: {a['completed']} completed, {a['suspended']} suspended as budget_exceeded, {a['other']} other")
    print(f"  holds left {a['holds_left']}, reserved left ${a['reserved_left']:.6f}; {a['seconds']:.1f} s")


if __name__ == "__main__":
    main()
