from __future__ import annotations

import pytest


@pytest.fixture
def test_graphs(register_workflows):
    """Register the small workflows of tests/orchestrator/graphs.py for one test."""
    register_workflows("tests.orchestrator.graphs")

