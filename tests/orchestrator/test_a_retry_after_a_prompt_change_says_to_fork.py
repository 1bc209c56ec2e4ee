"""A failed run keeps the calls its failed node paid for, and a retry answers the node from them. After a
deploy that changed the node's prompt, they answer another question: the retry fails saying so and to
fork from the checkpoint before the node, and that fork runs the new prompt live."""

from __future__ import annotations

import pytest

from orchestrator.executor import run_advance
from orchestrator.forks import run_fork
from orchestrator.models import Run, RunStatus
from orchestrator.services import run_retry, run_start
from tests.orchestrator.graphs import PARSER


@pytest.fixture
def parser_state():
    saved = dict(PARSER)
    yield PARSER
    PARSER.update(saved)


def test_the_retry_names_the_way_out_and_the_fork_takes_it(db, test_graphs, parser_state, make_user):
    parser_state.update(broken=True, prompt="Give me a number")
    run = run_start(workflow="call_then_parse")
    assert run_advance(run.pk, worker="test") == "failed"

    parser_state.update(broken=False, prompt="Give me a whole number between 1 and 10")  # the deploy
    run_retry(run=Run.objects.get(pk=run.pk))
    assert run_advance(run.pk, worker="test") == "failed"
    error = Run.objects.get(pk=run.pk).error
    assert error["type"] == "NonDeterministicNode"
    assert "fork the run from the checkpoint before the node" in error["message"]

    fork = run_fork(run=Run.objects.get(pk=run.pk), at_step=0, mode="live", actor=make_user("emery", "engineer"))
    assert run_advance(fork.pk, worker="test") == "completed"
    assert Run.objects.get(pk=fork.pk).status == RunStatus.COMPLETED
