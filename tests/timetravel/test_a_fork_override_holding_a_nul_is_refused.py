"""A fork's override holding a NUL character (a model typed on the fork page, the regression page or in
`runs fork --override`) is refused saying which setting holds it and to remove it, and nothing is forked:
the overrides are stored as JSON, where PostgreSQL refuses a NUL, so the accepted form ended in a 500 (a
traceback on the command line)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from orchestrator.models import Run
from tests.timetravel.conftest import no_fork_was_made


def test_the_fork_page_refuses_it(client_for, engineer_user, pipeline_run):
    response = client_for(engineer_user).post(f"/runs/{pipeline_run.thread_id}/checkpoints/3/fork/", {
        "mode": "recorded", "override_node": "summarize", "override_model": "demo-large\x00"})

    page = response.content.decode()
    assert response.status_code == 422
    assert "Override for node &#x27;summarize&#x27;: model holds a NUL character, which cannot be stored; remove it " \
           "and fork again." in page
    assert "remove the NUL character" in page  # under the override's fields
    no_fork_was_made(pipeline_run)


def test_the_regression_page_refuses_it_for_the_batch(client_for, engineer_user, pipeline_run):
    response = client_for(engineer_user).post("/runs/regression/", {
        "workflow": "document_pipeline", "node": "summarize", "model": "demo-large\x00", "limit": "10"})

    page = response.content.decode()
    assert response.status_code == 422
    assert "Override for node &#x27;summarize&#x27;: model holds a NUL character, which cannot be stored; remove it " \
           "and replay again." in page
    no_fork_was_made(pipeline_run)


def test_runs_fork_refuses_it(admin_user, pipeline_run):
    with pytest.raises(CommandError, match="override for node 'summarize': model holds a NUL character, which cannot "
                                           "be stored; remove it and fork again"):
        call_command("runs", "fork", pipeline_run.thread_id, "--at", "3", "--actor", "admin",
                     "--override", '{"nodes": {"summarize": {"model": "demo-large\\u0000"}}}', stdout=io.StringIO())
    assert Run.objects.count() == 1
    no_fork_was_made(pipeline_run)
