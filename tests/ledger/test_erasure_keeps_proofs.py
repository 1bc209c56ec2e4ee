"""Erasing a customer's data removes the payloads, keeps every hash (verification still passes),
marks the entries redacted, records the erasure, and needs an admin."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from audit.models import LedgerEntry
from audit.sealing import ledger_seal
from orchestrator.context import request_hash
from orchestrator.forks import ForkError, run_fork
from orchestrator.models import Checkpoint, JournalEntry, Run
from orchestrator.services import RunError, run_retry
from orchestrator.state import StateTracker, dumps
from tests.ledger.graphs import Letter, letter


def test_erasing_a_customer_removes_payloads_and_verification_still_passes(letter_run, audit_cli, admin_user):
    erased = letter_run(email="ana@example.com", labels={"customer": "acme"})
    kept = letter_run(email="bob@example.com", labels={"customer": "globex"})
    assert ledger_seal() is not None
    hashes_before = list(LedgerEntry.objects.filter(chain=erased.thread_id).order_by("seq_run")
                         .values_list("hash", flat=True))

    result = audit_cli("erase", "--label", "customer=acme", "--actor", admin_user.username)
    assert result.returncode == 0, result.stderr
    assert "erased 1 run" in result.stdout

    states = " ".join(Checkpoint.objects.filter(run=erased).values_list("delta", flat=True))
    assert "ana@example.com" not in states and "$erased" in states
    assert "bob@example.com" in " ".join(Checkpoint.objects.filter(run=kept).values_list("delta", flat=True))
    entries = LedgerEntry.objects.filter(chain=erased.thread_id).order_by("seq_run")
    assert list(entries.values_list("hash", flat=True))[:len(hashes_before)] == hashes_before
    assert all(entries.exclude(kind="personal_data_erased").values_list("redacted", flat=True))
    assert not LedgerEntry.objects.filter(chain=kept.thread_id, redacted=True).exists()
    erased.refresh_from_db()
    assert erased.labels == {"customer": "[erased]"} and erased.ledger_salt != Run.objects.get(pk=kept.pk).ledger_salt
    assert LedgerEntry.objects.filter(chain="system", kind="erasure", actor=admin_user.username).exists()

    verified = audit_cli("verify")
    assert verified.returncode == 0, verified.stderr


def test_a_guessed_customer_cannot_be_confirmed_against_any_digest_left(letter_run, audit_cli, admin_user):
    run = letter_run(email="ana@example.com", labels={"customer": "acme"})
    # What someone holding a guess would compute: the engine's plain state hash of the state after
    # the first step (write() is deterministic). Checkpoints keep it for the loop guard...
    guessed = StateTracker(Letter(customer_email="ana@example.com").model_dump(), blob_threshold=10**9,
                           snapshot_every=10**9)
    first_step = {"text": "Dear ana@example.com, step 1", "notes": ["wrote to ana@example.com"], "steps": 1}
    guessed.apply(first_step, {key: dumps(value) for key, value in first_step.items()}, letter.reducers)
    guessed_hash = guessed.state_hash()
    assert Checkpoint.objects.filter(run=run, step=1, state_hash=guessed_hash).exists()
    # ...but the ledger, which is exported and outlives the data, never holds it: a step's input
    # digest is salted like its output.
    payloads = " ".join(LedgerEntry.objects.filter(chain=run.thread_id).values_list("payload", flat=True))
    assert guessed_hash not in payloads and '"input":"sha256:' in payloads
    # The journal keeps the plain digest of each effect's arguments (to match a re-executed call).
    guessed_request = request_hash(["file_letter", ("ana@example.com",), {}])
    assert JournalEntry.objects.filter(run=run, request_hash=guessed_request).exists()

    assert audit_cli("erase", "--run", run.thread_id, "--actor", admin_user.username).returncode == 0

    assert not Checkpoint.objects.filter(run=run).exclude(state_hash="").exists()
    assert not JournalEntry.objects.filter(run=run).exclude(request_hash="").exists()
    assert audit_cli("verify", "--run", run.thread_id).returncode == 0


def test_an_erased_run_cannot_be_forked_or_retried(letter_run, audit_cli, admin_user):
    run = letter_run(labels={"customer": "acme"})
    assert audit_cli("erase", "--run", run.thread_id, "--actor", admin_user.username).returncode == 0
    run.refresh_from_db()

    with pytest.raises(ForkError, match="personal data was erased: there is no state to fork from"):
        run_fork(run=run, at_step=2)
    Run.objects.filter(pk=run.pk).update(status="failed")  # as if it had failed before the erasure
    with pytest.raises(RunError, match="personal data was erased: there is no state to retry from"):
        run_retry(run=Run.objects.get(pk=run.pk))


def test_only_an_admin_may_erase(letter_run, audit_cli, compliance_user):
    run = letter_run(labels={"customer": "acme"})
    result = audit_cli("erase", "--run", run.thread_id, "--actor", compliance_user.username)
    assert result.returncode != 0
    assert "erasure needs the admin role" in result.stderr
    assert "ana@example.com" in " ".join(Checkpoint.objects.filter(run=run).values_list("delta", flat=True))


def test_even_under_erasure_a_ledger_hash_cannot_be_changed(letter_run):
    run = letter_run()
    with pytest.raises(DatabaseError, match="only \"redacted\" may be set"), transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute("SET LOCAL gatehouse.erasure = 'on'")
        cursor.execute("UPDATE audit_ledgerentry SET hash = repeat('0', 64), redacted = true WHERE chain = %s",
                       [run.thread_id])
