from __future__ import annotations

import pytest

from orchestrator.registry import workflows


@pytest.fixture
def test_graphs(settings):
    """Register the small workflows of tests/orchestrator/graphs.py for one test."""
    settings.GATEHOUSE_WORKFLOWS = [*settings.GATEHOUSE_WORKFLOWS, "tests.orchestrator.graphs"]
    workflows.cache_clear()
    yield
    workflows.cache_clear()
