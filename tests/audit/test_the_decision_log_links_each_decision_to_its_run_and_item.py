"""From a row of the decision log, compliance opens the run's ledger entries (its thread id is the link)
and the item as the reviewer saw it (the gate is the link): both pages compliance may open."""

from __future__ import annotations

import re

from review.services import DecisionInput, review_decide
from tests.review.fixtures import email_item  # noqa: F401  (fixture)


def test_a_row_links_to_the_run_s_entries_and_to_the_item(email_item, reviewer_user, compliance_user,  # noqa: F811
                                                          client_for):
    item = email_item()
    review_decide(item=item, actor=reviewer_user, decision=DecisionInput("approve"))
    client = client_for(compliance_user)

    row = client.get("/audit/decisions/").content.decode().split('data-testid="decision-row"')[1]

    entries = re.search(r'<a href="([^"]+)" title="This run\'s ledger entries">' + item.run.thread_id, row)
    assert entries and entries.group(1) == f"/audit/?run={item.run.thread_id}#entries"
    assert f'<a href="/inbox/{item.pk}/" title="The item as the reviewer saw it">send_email</a>' in row
    assert client.get(f"/audit/?run={item.run.thread_id}").status_code == 200
    assert client.get(f"/inbox/{item.pk}/").status_code == 200
