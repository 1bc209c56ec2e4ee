from __future__ import annotations

import pytest
from django.test import Client

from orchestrator.tokens import api_token_create


@pytest.fixture
def test_graphs(register_workflows):
    """Register the small workflows of tests/orchestrator/graphs.py for one test."""
    register_workflows("tests.orchestrator.graphs")


@pytest.fixture
def api(db):
    """api(user) -> a client sending a fresh Bearer token of that user's; api(token=...) one of yours;
    api() none."""

    def make(user=None, token: str | None = None) -> Client:
        key = token or (api_token_create(user=user, name="test") if user else None)
        return Client(HTTP_AUTHORIZATION=f"Bearer {key}") if key else Client()

    return make
