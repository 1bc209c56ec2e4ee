"""The PDF report's verification statement says how many of its entries the last seal does not cover
yet: "Sealed through seal 1" over a run decided since read as if every entry of the report was signed."""

from __future__ import annotations

from django.urls import reverse

from audit.models import LedgerEntry, Seal
from audit.sealing import ledger_seal
from orchestrator.executor import run_advance
from review.services import DecisionInput, review_decide
from tests.pdf_text import pdf_text
from tests.review.fixtures import email_item  # noqa: F401  (fixture)


def _statement(client, run, tmp_path) -> str:
    response = client.post(reverse("audit:ledger_export"), {"run": run.thread_id, "format": "pdf"})
    path = tmp_path / "report.pdf"
    path.write_bytes(b"".join(response.streaming_content))
    text = pdf_text(path)
    return text.split("Verification statement", 1)[1].split("Ledger entries hold digests", 1)[0]


def test_entries_newer_than_the_last_seal_are_counted(email_item, reviewer_user, compliance_user,  # noqa: F811
                                                      client_for, seal_dir, tmp_path):
    item = email_item()
    run = item.run
    assert ledger_seal() is not None
    client = client_for(compliance_user)
    assert "newer than seal" not in _statement(client, run, tmp_path)

    review_decide(item=item, actor=reviewer_user, decision=DecisionInput("approve"))
    assert run_advance(run.pk, worker="test") == "completed"
    newer = LedgerEntry.objects.filter(chain=run.thread_id, gseq__gt=Seal.objects.get().last_gseq).count()
    assert newer > 1

    statement = _statement(client, run, tmp_path)
    assert "Sealed through seal 1" in statement
    assert (f"{newer} entries of this report are newer than seal 1, so not yet signed: the next seal will "
            "cover them; export again after it for a record that is sealed throughout.") in statement
