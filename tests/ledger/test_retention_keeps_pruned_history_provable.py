"""Retention: never below six months without an explicit override; prune --dry-run changes nothing;
a real prune removes old runs' data and the ledger still verifies through their sealed leaves."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import LedgerEntry, PrunedChain, PrunedLeaf
from audit.retention import RetentionError, retention_set
from audit.sealing import ledger_seal
from orchestrator.models import Checkpoint, Run


def test_a_retention_below_six_months_needs_the_override(db):
    with pytest.raises(RetentionError, match="below the 183-day minimum"):
        retention_set(workflow="ledger_letter", days=90)
    assert retention_set(workflow="ledger_letter", days=90, allow_below_minimum=True).below_minimum


def test_prune_removes_old_runs_and_what_it_pruned_stays_provable(letter_run, audit_cli, admin_user, engineer_user):
    old, recent = letter_run(), letter_run()
    Run.objects.filter(pk=old.pk).update(finished_at=timezone.now() - timedelta(days=401))
    assert ledger_seal() is not None

    dry = audit_cli("prune", "--dry-run")
    assert dry.returncode == 0 and "would prune 1 run" in dry.stdout and old.thread_id in dry.stdout
    assert LedgerEntry.objects.filter(chain=old.thread_id).count() == 8

    refused = audit_cli("prune", "--actor", engineer_user.username)
    assert refused.returncode != 0 and "pruning deletes runs' data needs the admin role" in refused.stderr
    assert LedgerEntry.objects.filter(chain=old.thread_id).count() == 8

    done = audit_cli("prune", "--actor", admin_user.username)
    assert done.returncode == 0, done.stderr
    assert not LedgerEntry.objects.filter(chain=old.thread_id).exists()
    assert not Checkpoint.objects.filter(run=old).exists()
    assert PrunedLeaf.objects.filter(chain=old.thread_id).count() == 8
    assert LedgerEntry.objects.filter(chain=recent.thread_id).count() == 8
    assert LedgerEntry.objects.filter(chain="system", kind="retention_pruned").exists()

    verified = audit_cli("verify")
    assert verified.returncode == 0, verified.stderr


def test_verify_passes_with_several_pruned_runs(letter_run, audit_cli, admin_user):
    old, older, _kept = letter_run(), letter_run(), letter_run()
    Run.objects.filter(pk__in=[old.pk, older.pk]).update(finished_at=timezone.now() - timedelta(days=401))
    assert ledger_seal() is not None
    assert audit_cli("prune", "--actor", admin_user.username).returncode == 0

    verified = audit_cli("verify")

    assert PrunedChain.objects.count() == 2
    assert verified.returncode == 0, verified.stdout + verified.stderr
