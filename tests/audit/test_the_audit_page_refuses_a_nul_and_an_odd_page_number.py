"""The audit page's entries filter and its export form refuse a run, workflow or actor holding a NUL
character (%00), which PostgreSQL refuses in a query, saying where to copy a thread id from, and record
nothing; a `before` of digits int() refuses ("²") starts from the newest entries as any other odd value
does. All of them were a 500."""

from __future__ import annotations

import pytest

from audit.models import LedgerEntry


def test_the_entries_filter_refuses_a_nul(client_for, compliance_user):
    response = client_for(compliance_user).get("/audit/?run=inv%00oice")

    page = response.content.decode()
    assert response.status_code == 400
    assert ("No run &#x27;inv\\x00oice&#x27;: a thread id has no NUL character (%00); copy it exactly as it appears "
            "in the Run column of the decision log, or of the entries on the audit page.") in page


def test_a_before_of_odd_digits_starts_from_the_newest(client_for, compliance_user):
    response = client_for(compliance_user).get("/audit/?before=%C2%B2")

    assert response.status_code == 200


@pytest.mark.parametrize("field", ["run", "workflow", "actor"])
def test_the_export_form_refuses_a_nul_and_records_nothing(client_for, compliance_user, field):
    exports = LedgerEntry.objects.filter(kind="export").count()
    response = client_for(compliance_user).post("/audit/export/", {"format": "jsonl", field: "x\x00y"})

    assert response.status_code == 400
    assert (f"The {field} may not contain the NUL character (%00): remove it, or copy a thread id as shown in the "
            "Run column of the decision log") in response.content.decode()
    assert LedgerEntry.objects.filter(kind="export").count() == exports
