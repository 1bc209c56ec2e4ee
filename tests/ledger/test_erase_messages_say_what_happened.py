"""`audit erase` says what it did, or why it did nothing, in plain words: both a label and a run are
"one, not both" (it said "name what to erase" to someone who had named two things); a run erased before
is reported as already erased, and nothing is changed or recorded again (it reported "erased 1 run … 2
checkpoints" and appended a second erasure); counts agree with their nouns ("1 ledger entries")."""

from __future__ import annotations

import re

from audit.models import LedgerEntry
from tests.ledger.conftest import refusal


def test_a_label_and_a_run_at_once_is_one_too_many(letter_run, audit_cli, admin_user):
    run = letter_run(labels={"customer": "acme"})
    assert refusal(audit_cli("erase", "--label", "customer=acme", "--run", run.thread_id, "--actor", "admin")) == (
        "name what to erase by --label KEY=VALUE or by --run THREAD_ID: one, not both")


def test_a_run_erased_before_is_reported_as_such_and_left_alone(letter_run, audit_cli, admin_user):
    run = letter_run()
    first = audit_cli("erase", "--run", run.thread_id, "--actor", "admin")
    assert first.returncode == 0, first.stderr
    assert re.fullmatch(rf"erased 1 run \({run.thread_id}\): 7 checkpoints, 6 journal rows, 0 review items, "
                        r"\d+ blobs?; 8 ledger entries marked redacted \(hashes unchanged\)\n", first.stdout)
    entries = LedgerEntry.objects.count()

    again = audit_cli("erase", "--run", run.thread_id, "--actor", "admin")
    assert again.returncode == 0, again.stderr
    assert again.stdout == (f"already erased, left as they were (nothing changed or recorded for them): "
                            f"{run.thread_id}\n")
    assert LedgerEntry.objects.count() == entries


def test_counts_of_one_read_in_the_singular(letter_run, audit_cli):
    run = letter_run()
    verified = audit_cli("verify", "--run", run.thread_id)
    assert verified.stdout == f"OK: 8 entries in 1 chain and 0 seals verified (run {run.thread_id})\n"
    assert audit_cli("seal").returncode == 0
    verified = audit_cli("verify", "--run", run.thread_id)
    assert verified.stdout == f"OK: 8 entries in 1 chain and 1 seal verified (run {run.thread_id})\n"
