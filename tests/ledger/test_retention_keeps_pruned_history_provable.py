"""Retention: never below six months without an explicit override; prune --dry-run changes nothing;
a real prune removes old runs' data and the ledger still verifies through their sealed leaves."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audit import sealing
from audit.models import LedgerEntry, PrunedChain, PrunedLeaf
from audit.retention import RetentionError, retention_set
from audit.sealing import ledger_seal
from orchestrator.models import Checkpoint, Run
from tests.ledger.conftest import offline, tamper


def test_a_retention_below_six_months_needs_the_override(db, ledger_workflows):
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
    assert refused.returncode != 0 and "pruning needs the admin role" in refused.stderr
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


def _seal_on(monkeypatch, day: str):
    # A seal made on `day`, as the sealer would have made it then (its signed time is what verify trusts).
    return _seal_at(monkeypatch, f"{day}T12:00:00.000000Z")


def _seal_at(monkeypatch, when: str):
    with monkeypatch.context() as patched:
        patched.setattr(sealing, "utc_now_iso", lambda: when)
        seal = ledger_seal()
    assert seal is not None
    return seal


def test_a_run_pruned_long_after_it_started_verifies(letter_run, audit_cli, admin_user, monkeypatch, export,
                                                     public_key):
    letter_run(email="earlier@example.com")
    _seal_on(monkeypatch, "2024-01-01")
    old = letter_run()
    _seal_on(monkeypatch, "2024-01-02")  # the first seal to name it: it started after 2024-01-01
    Run.objects.filter(pk=old.pk).update(finished_at=timezone.now() - timedelta(days=401))
    assert audit_cli("prune", "--actor", admin_user.username).returncode == 0
    assert PrunedChain.objects.filter(chain=old.thread_id).exists()
    assert ledger_seal() is not None
    verified = audit_cli("verify")
    assert verified.returncode == 0, verified.stderr
    checked = offline(export("old", "--run", old.thread_id), public_key)
    assert checked.returncode == 0, checked.stdout
    assert f"run {old.thread_id} was pruned by retention" in checked.stdout


def test_a_recent_run_made_to_look_old_is_caught_when_pruned(letter_run, audit_cli, admin_user, export, public_key):
    """Someone with write access to the database back-dates a recent run's finish, and retention prunes it:
    the prune record and its system entry are genuine, but the seals' signed times show the run started days,
    not a retention period, before it was pruned."""
    letter_run(email="earlier@example.com")
    assert ledger_seal() is not None
    recent = letter_run()
    assert ledger_seal() is not None
    Run.objects.filter(pk=recent.pk).update(finished_at=timezone.now() - timedelta(days=401))
    assert audit_cli("prune", "--actor", admin_user.username).returncode == 0
    assert PrunedChain.objects.filter(chain=recent.thread_id).exists()
    for sealed_too in (False, True):  # before and after the next seal signs the prune's record
        if sealed_too:
            assert ledger_seal() is not None
        verified = audit_cli("verify")
        assert verified.returncode == 1
        assert f"run {recent.thread_id}'s entries were deleted as pruned under a " in verified.stderr
        assert "but the run started after seal 1 was made on " in verified.stderr
        assert "it was still inside its retention period, so its entries were deleted outside retention" in (
            verified.stderr)
        # The offline verifier reads the same from the seals in the export.
        checked = offline(export(f"recent-{sealed_too}", "--run", recent.thread_id), public_key)
        assert checked.returncode == 1
        assert (f"run {recent.thread_id}'s entries were deleted as pruned under a " in checked.stdout
                and "it was still inside its retention period" in checked.stdout), checked.stdout
    # The period comes from the sealed record, not the prune row beside it, which anyone with the database can blank.
    tamper("UPDATE audit_prunedchain SET retention_days = NULL WHERE chain = %s", [recent.thread_id])
    verified = audit_cli("verify")
    assert verified.returncode == 1 and "it was still inside its retention period" in verified.stderr


def test_the_prune_is_bounded_by_the_signed_time_of_the_seal_over_its_record(letter_run, audit_cli, admin_user,
                                                                              monkeypatch, export, public_key):
    today = timezone.now().date()

    def day(ago: int) -> str:
        return (today - timedelta(days=ago)).isoformat()

    letter_run(email="earlier@example.com")
    _seal_on(monkeypatch, day(500))
    run = letter_run()
    _seal_on(monkeypatch, day(499))
    Run.objects.filter(pk=run.pk).update(finished_at=timezone.now() - timedelta(days=401))
    assert audit_cli("prune", "--actor", admin_user.username).returncode == 0
    assert PrunedChain.objects.filter(chain=run.thread_id).exists()
    _seal_on(monkeypatch, day(450))  # signs the prune's record: it happened by then, 50 days after the run began
    verified = audit_cli("verify")
    assert verified.returncode == 1
    assert "by seal 3" in verified.stderr and "inside its retention period" in verified.stderr
    checked = offline(export("bounded", "--run", run.thread_id), public_key)
    assert checked.returncode == 1 and "inside its retention period" in checked.stdout, checked.stdout


@pytest.mark.parametrize(("hours_inside", "verifies"), [(12, True), (36, False)])
def test_a_day_of_sealing_slack_is_allowed_at_the_retention_boundary(letter_run, audit_cli, admin_user, monkeypatch,
                                                                      hours_inside, verifies):
    """The seals bound a run's start only as closely as the sealer runs: a run that seems to have started
    half a day inside its period when pruned is not an alarm; a day and a half is."""
    retention_set(workflow="ledger_letter", days=190, allow_below_minimum=True)
    letter_run(email="earlier@example.com")
    boundary = timezone.now() - timedelta(days=190) + timedelta(hours=hours_inside)
    _seal_at(monkeypatch, boundary.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    run = letter_run()
    assert ledger_seal() is not None  # the first to name the run: it started after the seal above
    Run.objects.filter(pk=run.pk).update(finished_at=timezone.now() - timedelta(days=191))
    assert audit_cli("prune", "--actor", admin_user.username).returncode == 0
    assert PrunedChain.objects.filter(chain=run.thread_id).exists()

    verified = audit_cli("verify")

    assert (verified.returncode == 0) is verifies, verified.stderr
    assert ("it was still inside its retention period" in verified.stderr) is not verifies


def test_a_prune_is_held_to_its_own_workflow_s_period_not_the_shortest_applied(letter_run, audit_cli, admin_user,
                                                                             monkeypatch, export, public_key):
    """One prune applied 190 days to another workflow's runs and 400 to this one's: a run of this workflow that
    started 300 days before the prune was deleted outside retention, though 300 is more than 190."""
    today = timezone.now().date()
    letter_run(email="earlier@example.com")
    _seal_on(monkeypatch, (today - timedelta(days=500)).isoformat())
    brief = letter_run(email="brief@example.com")
    _seal_on(monkeypatch, (today - timedelta(days=300)).isoformat())
    letter = letter_run()
    _seal_on(monkeypatch, (today - timedelta(days=299)).isoformat())
    # The other workflow (its runs are this test graph's too): 190 days, below the minimum on purpose.
    Run.objects.filter(pk=brief.pk).update(workflow="ledger_brief")
    retention_set(workflow="ledger_brief", days=190, allow_below_minimum=True)
    Run.objects.filter(pk__in=[brief.pk, letter.pk]).update(finished_at=timezone.now() - timedelta(days=401))
    assert audit_cli("prune", "--actor", admin_user.username).returncode == 0
    assert set(PrunedChain.objects.values_list("chain", flat=True)) >= {brief.thread_id, letter.thread_id}

    verified = audit_cli("verify")

    assert verified.returncode == 1
    assert f"run {letter.thread_id}'s entries were deleted as pruned under a 400-day retention period" in (
        verified.stderr)
    assert f"run {brief.thread_id}'s entries" not in verified.stderr  # 500 days before: inside neither period
    checked = offline(export("own-period", "--run", letter.thread_id), public_key)
    assert checked.returncode == 1 and "under a 400-day retention period" in checked.stdout, checked.stdout
