"""A workflow may name labels every run of it must carry (`Graph(required_labels=("customer",))`):
label-scoped budgets and chargeback count runs by their labels, so a run started without its
customer would escape that customer's cap unnoticed. Started without it (or with it blank) by
the API, the CLI or code, the run is refused with a message naming the label and how to give it,
and nothing is started."""

from __future__ import annotations

import pytest

from orchestrator.models import Run
from orchestrator.services import RunError, run_start


@pytest.fixture
def billed(test_graphs, db):
    return "billed"


@pytest.mark.parametrize("labels", [None, {}, {"customer": "  "}, {"department": "sales"}])
def test_a_run_without_the_label_is_refused_naming_it(billed, labels):
    with pytest.raises(RunError) as refused:
        run_start(workflow=billed, labels=labels)

    assert str(refused.value) == (
        "workflow 'billed' needs the label 'customer' on every run (its budgets and chargeback count runs by "
        "them): start it with customer=… (`--label` on the CLI, \"labels\" in the API). Nothing was started.")
    assert not Run.objects.exists()


def test_a_run_with_the_label_starts(billed):
    run = run_start(workflow=billed, labels={"customer": "acme"})
    assert run.labels == {"customer": "acme"}


def test_the_api_and_the_cli_refuse_alike(billed, api, engineer_user, manage, settings):
    answer = api(engineer_user).post("/api/runs", {"workflow": "billed", "input": {}},
                                     content_type="application/json")
    assert answer.status_code == 422 and "needs the label 'customer'" in answer.json()["detail"]

    refused = manage("runs", "start", "billed", check=False)
    assert refused.returncode == 1 and "needs the label 'customer'" in refused.stderr
    manage("runs", "start", "billed", "--label", "customer=acme")
    assert Run.objects.get().labels == {"customer": "acme"}
