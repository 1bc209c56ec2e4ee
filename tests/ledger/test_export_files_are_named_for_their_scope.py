"""An export downloads as `ledger-<scope>-<date>.<ext>`: which run, workflow, actor or dates it
covers and the day it was made, as a plain ASCII file name (an export of all runs used to download
as `ledger-.jsonl`)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.urls import reverse

from audit.exports import ExportScope, export_filename
from orchestrator.executor import run_advance
from orchestrator.services import run_start

TODAY = date(2025, 6, 1)


@pytest.mark.parametrize(("scope", "name"), [
    (ExportScope(), "ledger-all-runs-2025-06-01.jsonl"),
    (ExportScope(run="ledger_letter-1a2b3c"), "ledger-ledger_letter-1a2b3c-2025-06-01.jsonl"),
    (ExportScope(workflow="email_approval"), "ledger-email_approval-2025-06-01.jsonl"),
    (ExportScope(actor="alice"), "ledger-by-alice-2025-06-01.jsonl"),
    (ExportScope(since=date(2025, 1, 1), until=date(2025, 3, 31)), "ledger-2025-01-01_to_2025-03-31-2025-06-01.jsonl"),
    (ExportScope(since=date(2025, 1, 1)), "ledger-from-2025-01-01-2025-06-01.jsonl"),
    (ExportScope(until=date(2025, 3, 31)), "ledger-to-2025-03-31-2025-06-01.jsonl"),
    (ExportScope(workflow="email_approval", actor="alice", since=date(2025, 1, 1), until=date(2025, 1, 31)),
     "ledger-email_approval-by-alice-2025-01-01_to_2025-01-31-2025-06-01.jsonl"),
])
def test_the_name_says_what_was_exported_and_when(scope, name):
    assert export_filename(scope, "jsonl", today=TODAY) == name


@pytest.mark.parametrize(("actor", "part"), [
    ("José Müller", "by-Jose_Muller"),
    ('ev"il\r\nX-Header: 1', "by-ev_il_X-Header_1"),
    ("../../etc/passwd", "by-etc_passwd"),
    ("山田", "by-user"),
])
def test_the_name_is_safe_ascii_whatever_the_actor_or_thread_id(actor, part):
    assert export_filename(ExportScope(actor=actor), "csv", today=TODAY) == f"ledger-{part}-2025-06-01.csv"
    assert export_filename(ExportScope(run=actor), "csv", today=TODAY).isascii()


@pytest.fixture
def letter_by_compliance(letter_run, compliance_user):
    """One run started by a person (so an actor scope selects it) next to an ordinary one."""
    letter_run()
    run = run_start(workflow="ledger_letter", input={"customer_email": "bo@example.com"}, actor=compliance_user)
    assert run_advance(run.pk, worker="test") == "completed"
    return run


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "pdf"])
def test_each_scope_downloads_under_its_own_name(letter_by_compliance, client_for, compliance_user, fmt):
    client = client_for(compliance_user)
    run = letter_by_compliance
    today = datetime.now(UTC).date().isoformat()
    scopes = {
        f"ledger-all-runs-{today}.{fmt}": {},
        f"ledger-{run.thread_id}-{today}.{fmt}": {"run": run.thread_id},
        f"ledger-ledger_letter-{today}.{fmt}": {"workflow": "ledger_letter"},
        f"ledger-by-compliance-{today}.{fmt}": {"actor": "compliance"},
        f"ledger-2020-01-01_to_{today}-{today}.{fmt}": {"since": "2020-01-01", "until": today},
    }
    for name, fields in scopes.items():
        response = client.post(reverse("audit:ledger_export"), {**fields, "format": fmt})
        assert response.status_code == 200, response.content
        assert response["Content-Disposition"] == f'attachment; filename="{name}"'
        b"".join(response.streaming_content)  # let the stream finish inside the test's transaction
