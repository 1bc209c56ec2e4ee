"""Run labels are what budgets, the chargeback and the runs list's `key=value` filter match on. A label
whose key is empty, holds "=" or spaces at its ends, or whose key or value is longer than a budget's match
can hold, could never be matched: it is refused naming the label and the rule, and nothing is started."""

from __future__ import annotations

import pytest

from orchestrator.models import Run
from orchestrator.services import run_start

EMAIL = {"to": "a@b.co", "topic": "renewal"}


@pytest.mark.parametrize(("key", "value", "problem"), [
    ("", "acme", "the key is empty"),
    ("team=a", "legal", 'holds "="'),
    (" customer", "acme", "spaces at its ends"),
    ("k" * 61, "acme", "over 60 characters"),
    ("customer", "v" * 201, "over 200 characters"),
])
def test_the_api_refuses_it_naming_the_label(api, engineer_user, key, value, problem):
    response = api(engineer_user).post("/api/runs", {"workflow": "email_approval", "input": EMAIL,
                                                     "labels": {"department": "legal", key: value}},
                                       content_type="application/json")

    assert response.status_code == 422, response.content
    fields = response.json()["fields"]
    assert list(fields) == [f"labels.{key}"]
    assert problem in fields[f"labels.{key}"]
    assert problem in response.json()["detail"] and "Nothing was started" in response.json()["detail"]
    assert not Run.objects.exists()


def test_labels_a_filter_can_match_are_kept_as_given(db):
    run = run_start(workflow="email_approval", input=EMAIL,
                    labels={"customer": "acme = north", "cost-centre.eu_1": "", "k" * 60: "v" * 200})
    assert run.labels == {"customer": "acme = north", "cost-centre.eu_1": "", "k" * 60: "v" * 200}

