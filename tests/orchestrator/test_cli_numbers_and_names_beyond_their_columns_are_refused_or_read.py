"""What a command's argument holds beyond what its database column takes is said in one line, or read as
what it means, never a traceback: `api_token --name` longer than the token name's 100 characters is refused
saying the limit, and makes no token; `runs list --limit` beyond PostgreSQL's bigint lists every run, as
any limit above their number does. Both printed a DataError traceback."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from orchestrator.models import ApiToken
from orchestrator.services import run_start


def test_a_token_name_over_the_limit_is_refused(db, engineer_user):
    with pytest.raises(CommandError) as refused:
        call_command("api_token", "engineer", "--name", "x" * 101, stdout=io.StringIO())

    assert str(refused.value) == ("--name is 101 characters, over the limit of 100: shorten it (it only says what "
                                  "the token is for). No token was made.")
    assert not ApiToken.objects.exists()


def test_a_token_name_of_the_limit_is_taken(db, engineer_user):
    call_command("api_token", "engineer", "--name", "x" * 100, stdout=io.StringIO())

    assert ApiToken.objects.get().name == "x" * 100


def test_a_list_limit_beyond_a_bigint_lists_every_run(db):
    run = run_start(workflow="email_approval", input={"to": "a@b.co", "topic": "x"})
    out = io.StringIO()

    call_command("runs", "list", "--limit", "9" * 30, stdout=out)

    assert run.thread_id in out.getvalue()
