"""An argument whose bytes are not UTF-8 (typed in a Latin-1 terminal, or pasted from one) is refused while
the arguments are read, as a usage error naming it and what to do, and nothing is done. Python reads such
bytes as lone surrogates, which no query, ledger digest or token name can encode: `runs cancel --reason`,
`--actor`, `--label` and `api_token --name` with one printed a UnicodeEncodeError traceback."""

from __future__ import annotations

import pytest

from orchestrator.models import ApiToken, Run, RunStatus
from orchestrator.services import run_start
from tests.ledger.conftest import usage_error

LATIN1 = "caf\udce9"  # b"caf\xe9": "café" in Latin-1, as a command line passes it to Python


@pytest.mark.parametrize(("args", "shown"), [
    (("runs", "start", "email_approval", "--input", '{"to": "a@b.co", "topic": "x"}', "--label", f"shop={LATIN1}"),
     "shop=caf\\xe9"),
    (("runs", "start", "email_approval", "--input", '{"to": "a@b.co", "topic": "x"}', "--actor", LATIN1), "caf\\xe9"),
    (("api_token", "admin", "--name", LATIN1), "caf\\xe9"),
    (("audit", "erase", "--label", f"shop={LATIN1}", "--actor", "admin"), "shop=caf\\xe9"),
])
def test_it_is_named_and_nothing_is_done(manage_cli, make_user, args, shown):
    make_user("admin", "admin")
    assert usage_error(manage_cli(*args)) == (
        f"manage.py {args[0]}: error: argument '{shown}' is not UTF-8 text (byte 0xe9); type it again in a terminal "
        "set to a UTF-8 locale (LANG=C.UTF-8)")
    assert not Run.objects.exists() and not ApiToken.objects.exists()


def test_a_cancel_reason_holding_one_cancels_nothing(manage_cli, make_user):
    make_user("emery", "engineer")
    run = run_start(workflow="email_approval", input={"to": "a@b.co", "topic": "x"})

    error = usage_error(manage_cli("runs", "cancel", run.thread_id, "--reason", LATIN1, "--actor", "emery"))

    assert error.endswith("error: argument 'caf\\xe9' is not UTF-8 text (byte 0xe9); type it again in a terminal "
                          "set to a UTF-8 locale (LANG=C.UTF-8)")
    assert Run.objects.get(pk=run.pk).status == RunStatus.QUEUED
