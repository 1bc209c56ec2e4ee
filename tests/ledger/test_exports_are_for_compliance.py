"""Compliance (and admin) may export and download proofs; reviewers and engineers get 403. On the command
line `audit export --as` names who is exporting, and it is recorded: it must be an existing compliance
officer or admin (`--as ghost` put a user nobody is in the ledger)."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from audit.models import LedgerEntry
from audit.sealing import ledger_seal
from tests.ledger.conftest import refusal, usage_error


@pytest.fixture
def exported_run(letter_run):
    run = letter_run()
    assert ledger_seal() is not None
    return run


def test_compliance_can_export_a_run_as_jsonl(exported_run, client_for, compliance_user):
    response = client_for(compliance_user).post(reverse("audit:ledger_export"),
                                                {"run": exported_run.thread_id, "format": "jsonl"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith(f'attachment; filename="ledger-{exported_run.thread_id}-')
    lines = b"".join(response.streaming_content).splitlines()
    assert json.loads(lines[0])["counts"]["entries"] == 8
    assert LedgerEntry.objects.filter(chain="system", kind="export", actor="compliance").exists()


def test_compliance_can_download_an_inclusion_proof(exported_run, client_for, compliance_user):
    entry = LedgerEntry.objects.filter(chain=exported_run.thread_id).first()
    document = client_for(compliance_user).get(reverse("audit:ledger_proof", args=[entry.gseq])).json()
    assert document["entry"]["hash"] == entry.hash and document["seal"]["seal_no"] == 1
    # The seal covers the run's 8 entries and the system chain's record of its workflow version.
    assert document["proof"]["tree_size"] == 9


@pytest.mark.parametrize("persona", ["reviewer_user", "engineer_user"])
def test_reviewers_and_engineers_get_403(exported_run, client_for, persona, request):
    client = client_for(request.getfixturevalue(persona))
    export = client.post(reverse("audit:ledger_export"), {"run": exported_run.thread_id, "format": "pdf"})
    assert export.status_code == 403
    gseq = LedgerEntry.objects.first().gseq
    assert client.get(reverse("audit:ledger_proof", args=[gseq])).status_code == 403
    assert client.get(reverse("audit:ledger")).status_code == 403
    assert not LedgerEntry.objects.filter(chain="system", kind="export").exists()


def test_the_audit_page_shows_the_last_seal_and_verifies_on_request(exported_run, client_for, compliance_user):
    client = client_for(compliance_user)
    page = client.get(reverse("audit:ledger")).content.decode()
    assert "#1" in page and "never verified" in page
    after = client.post(reverse("audit:ledger_verify"), follow=True).content.decode()
    assert "OK: 9 entries" in after and "intact" in after  # the run's 8 and its version coming into use


@pytest.mark.parametrize(("as_user", "message"), [
    ("ghost", "no user 'ghost'; an admin creates it at /admin/ (Users) and adds it to a role group (README: Accounts and roles)."),
    ("engineer", "'engineer' is not a compliance officer or an admin: exporting needs the compliance or admin "
                 "role (--as takes a compliance officer's or an admin's username)."),
])
def test_the_cli_exports_only_as_an_existing_exporter(exported_run, audit_cli, engineer_user, tmp_path, as_user,
                                                      message):
    target = tmp_path / "run.csv"
    refused = audit_cli("export", "--run", exported_run.thread_id, "--format", "csv", "-o", str(target),
                        "--as", as_user)
    assert refusal(refused) == message
    assert not target.exists() and not LedgerEntry.objects.filter(chain="system", kind="export").exists()


def test_the_cli_needs_to_be_told_who_is_exporting(exported_run, audit_cli, tmp_path):
    error = usage_error(audit_cli("export", "--run", exported_run.thread_id, "-o", str(tmp_path / "run.jsonl")))
    assert error.endswith("error: the following arguments are required: --as")


def test_an_admin_may_export_from_the_cli_and_is_recorded(exported_run, audit_cli, admin_user, tmp_path):
    made = audit_cli("export", "--run", exported_run.thread_id, "--format", "csv", "-o", str(tmp_path / "run.csv"),
                     "--as", "admin")
    assert made.returncode == 0, made.stderr
    assert list(LedgerEntry.objects.filter(chain="system", kind="export").values_list("actor", flat=True)) == ["admin"]
