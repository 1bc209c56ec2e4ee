"""The family page counts the forks of a run, not the run itself, in words that agree with the number:
one fork "descends", two "descend", and a run nobody forked says so."""

from __future__ import annotations

import re

import pytest

from orchestrator.forks import run_fork
from orchestrator.models import Run


def _summary(client, run: Run) -> str:
    html = client.get(f"/runs/{run.thread_id}/family/").content.decode()
    return re.sub(r"<[^>]+>", "", re.search(r'data-testid="family-summary">(.*?)</p>', html, re.S).group(1))


@pytest.fixture
def engineer(client_for, engineer_user):
    return client_for(engineer_user)


def test_a_run_with_one_fork_says_one_fork(engineer, engineer_user, pipeline_run):
    fork = run_fork(run=pipeline_run, at_step=3, mode="recorded", actor=engineer_user)

    expected = f"1 fork descends from {pipeline_run.thread_id}."
    assert _summary(engineer, pipeline_run) == expected
    assert _summary(engineer, fork) == expected  # the same family, seen from the fork


def test_a_fork_of_a_fork_is_counted_with_the_others(engineer, engineer_user, pipeline_run):
    child = run_fork(run=pipeline_run, at_step=3, mode="recorded", actor=engineer_user)
    Run.objects.filter(pk=child.pk).update(status="completed")
    run_fork(run=child, at_step=0, mode="live", actor=engineer_user)

    assert _summary(engineer, pipeline_run) == (f"2 forks descend from {pipeline_run.thread_id}, "
                                                "forks of forks included.")


def test_a_run_nobody_forked_says_so(engineer, pipeline_run):
    assert _summary(engineer, pipeline_run) == (f"No run was forked from {pipeline_run.thread_id} yet: fork it "
                                                "from one of its checkpoints on its timeline.")
