"""`runs fork` names who makes the fork, as `runs resume` names who decides: `--actor` is required (a usage
error without it, exit 2), must be an engineer or an admin (who may fork on the API and the pages), and is
recorded on the fork's first checkpoint and in both runs' ledger chains. Without it a fork recorded no one
(`-` in `runs history`), so the ledger and separation of duties lost who acted."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from audit.models import LedgerEntry
from orchestrator.models import Checkpoint, Run
from tests.ledger.conftest import usage_error


def _runs(*args: str) -> str:
    out = StringIO()
    call_command("runs", *args, stdout=out)
    return out.getvalue().strip()


def test_without_actor_fork_is_a_usage_error_like_resume(manage, pipeline_run):
    fork = manage("runs", "fork", pipeline_run.thread_id, "--at", "3", check=False)
    resume = manage("runs", "resume", pipeline_run.thread_id, "--approve", check=False)

    assert usage_error(fork) == "manage.py runs fork: error: the following arguments are required: --actor"
    assert usage_error(resume) == "manage.py runs resume: error: the following arguments are required: --actor"
    assert not Run.objects.filter(parent=pipeline_run).exists()


@pytest.mark.parametrize("persona", ["engineer_user", "admin_user"])
def test_the_fork_and_both_ledger_chains_name_the_actor(request, pipeline_run, persona):
    actor = request.getfixturevalue(persona)

    fork = Run.objects.get(thread_id=_runs("fork", pipeline_run.thread_id, "--at", "3",
                                           "--actor", actor.username))

    assert fork.created_by == actor
    assert Checkpoint.objects.get(run=fork, step=0).actor == actor
    assert json.loads(_runs("history", fork.thread_id, "--json"))[0]["actor"] == actor.username
    assert LedgerEntry.objects.get(chain=fork.thread_id, kind="fork").actor == actor.username
    assert LedgerEntry.objects.get(chain=pipeline_run.thread_id, kind="forked").actor == actor.username


@pytest.mark.parametrize(("persona", "said"), [
    ("reviewer_user", "'reviewer' is not an engineer or an admin: forking needs the engineer or admin role "
                      "(--actor takes an engineer's or an admin's username)."),
    ("compliance_user", "'compliance' is not an engineer or an admin: forking needs the engineer or admin role "
                        "(--actor takes an engineer's or an admin's username)."),
])
def test_someone_who_may_not_fork_is_refused(request, pipeline_run, persona, said):
    actor = request.getfixturevalue(persona)

    with pytest.raises(CommandError) as refused:
        _runs("fork", pipeline_run.thread_id, "--at", "3", "--actor", actor.username)

    assert str(refused.value) == said
    assert not Run.objects.filter(parent=pipeline_run).exists()


def test_an_unknown_actor_is_refused_as_everywhere(pipeline_run):
    with pytest.raises(CommandError, match=r"^no user 'ghost'; an admin creates it at /admin/ \(Users\) and adds it to a role group \(README: Accounts and roles\)\.$"):
        _runs("fork", pipeline_run.thread_id, "--at", "3", "--actor", "ghost")
