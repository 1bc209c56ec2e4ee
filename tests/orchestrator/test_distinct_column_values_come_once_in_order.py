"""The filter lists built from what the database holds (the workflows of the audit page's export, the
decision log's actors) list each value once, in order, with no blank for a missing one, however
the rows are spread; they are read by skipping along an index, not by reading every row."""

from __future__ import annotations

from audit.selectors_ledger import decision_actors, ledger_workflows
from orchestrator.distinct import column_values
from orchestrator.models import Run


def test_each_value_once_in_order_none_skipped(db, make_user):
    user = make_user("engineer-a", "engineer")
    for n, workflow in enumerate(["zeta", "alpha", "mid", "alpha", "zeta", "alpha"]):
        Run.objects.create(thread_id=f"t{n}", workflow=workflow, graph_version="v",
                           created_by=user if n % 2 else None)

    assert column_values(Run, "workflow") == ["alpha", "mid", "zeta"] == ledger_workflows()
    assert column_values(Run, "created_by") == [user.pk], "null is not a value"


def test_an_empty_table_has_no_values(db):
    assert column_values(Run, "workflow") == [] and decision_actors() == []
