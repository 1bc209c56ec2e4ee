"""The PDF report shows a run's costs to the millionth, as the cost pages and the timeline do: rounded
to four places, a $0.000117 node read "$0.0001", a node with tokens cost "$0.0000", and the costs by
node did not add up to their total."""

from __future__ import annotations

from django.urls import reverse

from audit.sealing import ledger_seal
from orchestrator.budgets import money
from tests.pdf_text import pdf_text
from tests.review.fixtures import email_item  # noqa: F401  (fixture)


def _pdf_text(content: bytes, tmp_path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(content)
    return pdf_text(path)


def test_a_run_s_cost_is_shown_whole_in_its_facts_costs_and_timeline(email_item, compliance_user, client_for,  # noqa: F811
                                                                     seal_dir, tmp_path):
    run = email_item().run  # its draft node called the demo model once: a cost of about $0.0001
    run.refresh_from_db()
    assert ledger_seal() is not None
    shown = money(run.cost)
    assert len(shown.split(".")[1]) > 4, shown  # a figure four places would round

    response = client_for(compliance_user).post(reverse("audit:ledger_export"),
                                                {"run": run.thread_id, "format": "pdf"})
    text = _pdf_text(b"".join(response.streaming_content), tmp_path)

    facts, rest = text.split("Costs by node", 1)
    costs, timeline = rest.split("Timeline", 1)
    assert f"tokens · {shown}" in facts
    assert costs.count(shown) == 2  # the draft node's row and the total
    assert f"tokens · {shown} ·" in timeline  # the node_completed entry
