"""Sixteen runs in real worker processes race for one hard cap: total spend never passes the cap,
every run either finishes or suspends as budget_exceeded, and no hold is left behind — neither when
the runs end nor when a worker is SIGKILLed in the middle of a call."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Sum

from orchestrator.models import BudgetReservation, BudgetUsage, Run, SpendEvent
from orchestrator.reconciler import runs_reconcile
from orchestrator.services import run_start

RUNS = 16


def _per_run_cost(advance) -> Decimal:
    reference = run_start(workflow="cost_probe", input={"calls": 2})
    assert advance(reference) == "completed"
    return SpendEvent.objects.filter(run=reference).aggregate(s=Sum("cost"))["s"]


def _settled(run_ids: list[int]) -> bool:
    states = set(Run.objects.filter(pk__in=run_ids).values_list("status", "suspended_reason"))
    return states <= {("completed", ""), ("suspended", "budget_exceeded")}


def test_sixteen_concurrent_runs_never_spend_past_a_hard_cap(priced, advance, make_budget, start_worker, wait_for):
    per_run = _per_run_cost(advance)
    cap = (per_run * Decimal("6.5")).quantize(Decimal("0.000001"))  # room for about six of the sixteen
    budget = make_budget("Shared hard cap", cap=str(cap), scope="workflow", match="cost_probe")
    runs = [run_start(workflow="cost_probe", input={"calls": 2}, labels={"batch": str(i)}) for i in range(RUNS)]
    ids = [r.pk for r in runs]
    # Slow calls make many holds overlap, so the cap is contended at every step.
    workers = [start_worker(burst=True, env={"GATEHOUSE_DEMO_LLM_LATENCY_MS": "40"}) for _ in range(4)]

    wait_for(lambda: _settled(ids), timeout=180, what="all 16 runs to complete or suspend")
    for worker in workers:
        worker.popen.wait(timeout=60)

    usage = BudgetUsage.objects.get(budget=budget)
    spent = SpendEvent.objects.filter(run_id__in=ids).aggregate(s=Sum("cost"))["s"]
    assert usage.spent == spent, "the budget counts exactly the calls recorded"
    assert spent <= cap, f"overshoot: spent {spent} against a cap of {cap}"
    statuses = list(Run.objects.filter(pk__in=ids).values_list("status", flat=True))
    assert statuses.count("completed") >= 1 and statuses.count("suspended") >= 1
    assert statuses.count("completed") + statuses.count("suspended") == RUNS
    assert not BudgetReservation.objects.exists(), "no hold left behind"
    assert usage.reserved == 0
    for event in SpendEvent.objects.filter(run_id__in=ids):
        assert event.cost <= event.reserved, "no call cost more than it held"


def test_a_hold_of_a_killed_worker_is_released_and_the_run_completes(priced, make_budget, start_worker, wait_for):
    budget = make_budget(cap="5.00")
    run = run_start(workflow="cost_probe", input={"calls": 2})
    # A 5 s provider timeout: the dead worker's hold expires 2 s (its draw window) + 2 x 5 s + 2 s
    # (the lease) after it was taken, when no call of that worker could still be spending it.
    worker = start_worker(env={"GATEHOUSE_DEMO_LLM_LATENCY_MS": "4000", "GATEHOUSE_LLM_TIMEOUT": "5"})
    wait_for(lambda: BudgetReservation.objects.filter(run=run).exists(), timeout=60, what="a call in flight")
    worker.kill()
    assert BudgetUsage.objects.get(budget=budget).reserved > 0, "the dead worker's hold is still there"

    # The lease (2 s in tests) lapses and the reconciler re-queues the run; the hold expires and the
    # reconciler frees it.
    wait_for(lambda: runs_reconcile() and not BudgetReservation.objects.exists(), timeout=30,
             what="the reconciler to release the hold")
    assert BudgetUsage.objects.get(budget=budget).reserved == 0

    start_worker()
    wait_for(lambda: Run.objects.get(pk=run.pk).status == "completed", timeout=60, what="the run to complete")
    usage = BudgetUsage.objects.get(budget=budget)
    assert usage.spent == SpendEvent.objects.filter(run=run).aggregate(s=Sum("cost"))["s"]
    # The job gives its hold back just after the step commit that completed the run.
    wait_for(lambda: BudgetUsage.objects.get(budget=budget).reserved == 0 and not BudgetReservation.objects.exists(),
             what="the finished job to give its hold back")
