"""A run waiting at a gate reads so in the PDF report: its status as people say it ("Suspended —
waiting for a decision", not the code "gate"), and under Decisions that none has been made yet, not
that "no human decisions were needed"."""

from __future__ import annotations

from django.urls import reverse

from tests.pdf_text import pdf_text
from tests.review.fixtures import email_item  # noqa: F401  (fixture)


def _report(client, thread_id: str, tmp_path) -> str:
    response = client.post(reverse("audit:ledger_export"), {"run": thread_id, "format": "pdf"})
    path = tmp_path / "report.pdf"
    path.write_bytes(b"".join(response.streaming_content))
    return " ".join(pdf_text(path).split())


def test_a_run_at_a_gate_waits_for_a_decision_in_the_report(email_item, compliance_user,  # noqa: F811
                                                            client_for, tmp_path):
    item = email_item()

    text = _report(client_for(compliance_user), item.run.thread_id, tmp_path)
    facts, decisions = text.split("Decisions", 1)[0], text.split("Decisions", 1)[1].split("Costs by node")[0]

    assert "Suspended — Waiting for a decision" in facts and "— gate" not in facts
    assert "No decision yet: the run is waiting for one (send_email)." in decisions
    assert "were needed" not in decisions
