"""A recorded-mode fork reuses the original's LLM results: zero tokens while requests match, and the
first node whose request changed calls the model live (the compare view names it)."""

from __future__ import annotations

import pytest

from orchestrator.forks import run_fork
from orchestrator.history import state_at
from orchestrator.models import JournalEntry, RunStatus
from orchestrator.state import hydrate_state

LLM_OUTPUTS = ["category", "entities", "summary", "risk", "redacted", "report", "quality"]


@pytest.fixture
def fork_at_3(pipeline_run, advance_run, engineer_user):
    def make(**kwargs):
        fork = run_fork(run=pipeline_run, at_step=3, mode="recorded", actor=engineer_user, **kwargs)
        return advance_run(fork)

    return make


def test_an_unchanged_recorded_fork_spends_zero_tokens_and_produces_identical_outputs(pipeline_run, fork_at_3):
    fork = fork_at_3()

    assert fork.status == RunStatus.COMPLETED
    assert (fork.input_tokens, fork.output_tokens, fork.cost) == (0, 0, 0)
    assert fork.diverged_at_step is None
    calls = JournalEntry.objects.filter(run=fork, kind="llm")
    assert calls.count() == 5 and all(call.replayed for call in calls)
    original = hydrate_state(state_at(pipeline_run.pk, pipeline_run.step))
    replayed = hydrate_state(state_at(fork.pk, fork.step))
    assert {k: replayed[k] for k in LLM_OUTPUTS} == {k: original[k] for k in LLM_OUTPUTS}
    # The archive effect was journaled as a dry-run, not performed.
    assert replayed["archived_as"] == "dry-run"
    assert replayed["trail"] == original["trail"]


def test_an_edited_field_makes_the_first_node_that_reads_it_call_live(pipeline_run, fork_at_3, client_for,
                                                                       engineer_user):
    edited_text = "EDITED BY AN ENGINEER. " + hydrate_state(state_at(pipeline_run.pk, 3))["text"]
    fork = fork_at_3(edits={"text": edited_text})

    assert fork.status == RunStatus.COMPLETED
    # detect_language (step 4) makes no LLM call; classify (step 5) is the first whose prompt changed.
    assert fork.diverged_at_step == 2
    classify = JournalEntry.objects.get(run=fork, node="classify")
    assert not classify.replayed and classify.input_tokens > 0
    assert fork.input_tokens > 0

    page = client_for(engineer_user).get(f"/runs/{fork.thread_id}/compare/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="first-live-node">classify<' in html

