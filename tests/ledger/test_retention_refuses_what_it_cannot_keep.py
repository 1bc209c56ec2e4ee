"""A retention period is refused, before anything is stored or recorded, when it could not be applied:
more days than any date reaches back (99999999 was accepted, then `audit prune` crashed with
OverflowError until someone changed it), or a workflow nothing knows (a typo stored a policy that
applied to nothing). A retired workflow whose runs are still kept stays settable, and a period below
the minimum names the flag that allows it."""

from __future__ import annotations

import pytest

from audit.models import LedgerEntry, RetentionPolicy
from audit.retention import MAXIMUM_DAYS, RetentionError, retention_set
from orchestrator.models import Run
from tests.ledger.conftest import refusal


def _recorded() -> int:
    return LedgerEntry.objects.filter(chain="system", kind="retention_changed").count()


def test_more_days_than_a_date_reaches_back_is_refused_and_prune_keeps_working(audit_cli, admin_user):
    refused = audit_cli("retention", "ledger_letter", "99999999", "--actor", "admin")
    assert refusal(refused) == "retention is a number of days from 1 to 36500 (100 years), not 99999999"
    assert not RetentionPolicy.objects.exists() and _recorded() == 0

    assert refusal(audit_cli("retention", "ledger_letter", "0", "--actor", "admin")) == (
        "retention is a number of days from 1 to 36500 (100 years), not 0")
    kept = audit_cli("retention", "ledger_letter", str(MAXIMUM_DAYS), "--actor", "admin")
    assert kept.returncode == 0 and kept.stdout == "ledger_letter: finished runs are kept 36,500 days\n"
    assert audit_cli("prune", "--dry-run").stdout.startswith("would prune 0 runs")


def test_a_period_stored_before_the_bound_does_not_crash_prune(letter_run, audit_cli):
    letter_run()
    RetentionPolicy.objects.create(workflow="ledger_letter", days=99_999_999)  # as the command once accepted

    dry = audit_cli("prune", "--dry-run")
    assert dry.returncode == 0 and "Traceback" not in dry.stderr, dry.stderr
    assert dry.stdout.startswith("would prune 0 runs")


def test_a_workflow_nothing_knows_is_refused_naming_the_registered_ones(audit_cli, admin_user):
    message = refusal(audit_cli("retention", "nosuch", "200", "--actor", "admin"))
    assert message.startswith("unknown workflow 'nosuch'; known workflows: document_pipeline, email_approval, "
                              "ledger_letter, research_agent.")
    assert not RetentionPolicy.objects.exists() and _recorded() == 0


def test_a_retired_workflow_with_runs_stays_settable(letter_run, audit_cli, admin_user):
    run = letter_run()
    Run.objects.filter(pk=run.pk).update(workflow="letters_2019")  # its module is no longer registered

    kept = audit_cli("retention", "letters_2019", "400", "--actor", "admin")
    assert kept.returncode == 0, kept.stderr
    assert RetentionPolicy.objects.get(workflow="letters_2019").days == 400


def test_below_the_minimum_names_the_flag_that_allows_it(audit_cli, admin_user):
    assert refusal(audit_cli("retention", "ledger_letter", "30", "--actor", "admin")) == (
        "30 days is below the 183-day minimum (six months); if a regulation really requires less, pass "
        "--allow-below-minimum (the change is recorded as below the minimum)")
    allowed = audit_cli("retention", "ledger_letter", "30", "--actor", "admin", "--allow-below-minimum")
    assert allowed.returncode == 0 and RetentionPolicy.objects.get(workflow="ledger_letter").below_minimum


@pytest.mark.parametrize("days", [0, MAXIMUM_DAYS + 1])
def test_the_service_refuses_it_for_any_caller(ledger_workflows, db, days):
    with pytest.raises(RetentionError, match="a number of days from 1 to 36500"):
        retention_set(workflow="ledger_letter", days=days)
