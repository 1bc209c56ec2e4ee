"""Fixtures for the cost tests: the probe workflow registered, seeded prices, a synchronous runner."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest

from orchestrator import cost_alerts, spend
from orchestrator.llm.pricing import DEFAULT_PRICES

PROBE = "tests.costs.probe_workflow"


@pytest.fixture(autouse=True)
def probe_workflow(register_workflows) -> Iterator[None]:
    register_workflows(PROBE)
    spend.prices_invalidate()
    cost_alerts.anomaly_cache_clear()
    yield
    spend.prices_invalidate()


@pytest.fixture
def priced(transactional_db) -> None:
    """The seeded price table and settings row (transactional tests flush what migrations seeded)."""
    from orchestrator.models import CostSettings, ModelPrice

    if not ModelPrice.objects.exists():
        ModelPrice.objects.bulk_create([
            ModelPrice(pattern=p.pattern, input_per_mtok=p.input_per_mtok, output_per_mtok=p.output_per_mtok,
                       cached_input_per_mtok=p.cached_input_per_mtok, effective_from=p.effective_from)
            for p in DEFAULT_PRICES
        ])
    CostSettings.objects.get_or_create(pk=1)
    spend.prices_invalidate()


@pytest.fixture
def advance() -> Callable[..., str]:
    """Advance a run in this process, as a worker would (for tests about services, not processes)."""
    from orchestrator.executor import run_advance

    def run(run) -> str:
        return run_advance(run.pk, worker="test-inline")

    return run


@pytest.fixture
def make_budget(transactional_db) -> Callable[..., object]:
    from orchestrator.models import Budget

    def make(name: str = "Probe cap", *, cap: str = "1.00", scope: str = "global", match: str = "",
             period: str = "total", thresholds: list[int] | None = None) -> Budget:
        return Budget.objects.create(name=name, scope=scope, match=match, period=period, cap=Decimal(cap),
                                     soft_thresholds=thresholds or [])

    return make


@pytest.fixture
def short_holds(settings, monkeypatch) -> None:
    """Holds taken in this test have a 2 s draw window (the lease, as the test workers run with)
    and expire 2 s + two 1 s provider timeouts + the lease after their last settlement, so the
    reconciler's wait for them stays short."""
    settings.GATEHOUSE_LEASE_SECONDS = 2
    monkeypatch.setenv("GATEHOUSE_LLM_TIMEOUT", "1")
