"""The runs list's and the regression page's filters answer every value a person can type, never a 500: a
To of 9999-12-31 (the last day there is) lists the runs up to then, a cost floor is read to the millionth
costs are stored to (1e-999999 is 0, one too long for a number is refused), and a NUL character (%00) in
the thread id search, the workflow or the label, which PostgreSQL refuses in a query, is refused beside its
box, saying to remove it."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from orchestrator.models import Run
from orchestrator.services import run_start


def _listed(html: str) -> set[str]:
    return set(re.findall(r'data-testid="run-row">\s*<td[^>]*><a class="mono" href="/runs/([^/]+)/"', html))


@pytest.fixture
def run(db):
    return run_start(workflow="email_approval", input={"to": "a@b.co", "topic": "x"})


@pytest.mark.parametrize("query", ["until=9999-12-31", "min_cost=-1e-999999"])
def test_the_end_of_the_calendar_and_a_tiny_cost_list_the_runs(client_for, engineer_user, run, query):
    response = client_for(engineer_user).get(f"/runs/?{query}")

    assert response.status_code == 200 and _listed(response.content.decode()) == {run.thread_id}


def test_a_cost_floor_above_the_millionth_rounds_up(client_for, engineer_user, run):
    # A floor of half a millionth is a floor of one millionth: a run that cost one is over it, one that cost
    # nothing under it, and the floor is taken, not refused.
    paid = run_start(workflow="email_approval", input={"to": "a@b.co", "topic": "y"})
    Run.objects.filter(pk=paid.pk).update(cost=Decimal("0.000001"))

    response = client_for(engineer_user).get("/runs/?min_cost=0.0000005")

    assert response.status_code == 200 and _listed(response.content.decode()) == {paid.thread_id}


def test_a_cost_floor_too_long_for_a_number_is_refused(client_for, engineer_user, run):
    response = client_for(engineer_user).get("/runs/?min_cost=1e999999")

    page = response.content.decode()
    assert response.status_code == 400
    assert "use a number like 0.05, of at most 22 digits before the point" in page
    assert _listed(page) == set()


@pytest.mark.parametrize("name", ["q", "workflow", "label"])
def test_a_nul_in_a_filter_is_refused_beside_its_box(client_for, engineer_user, run, name):
    response = client_for(engineer_user).get(f"/runs/?{name}=a%00=b")

    page = response.content.decode()
    assert response.status_code == 400
    assert '<small class="field-error">may not contain the NUL character (%00); remove it</small>' in page
    assert _listed(page) == set()


@pytest.mark.parametrize("query", ["until=9999-12-31", "label=a%00%3Db", "min_cost=1e999999"])
def test_the_regression_page_answers_them_too(client_for, engineer_user, run, query):
    response = client_for(engineer_user).get(f"/runs/regression/?workflow=email_approval&{query}")

    assert response.status_code == 200
    page = response.content.decode()
    if query.startswith("until"):
        assert run.thread_id in page
    else:
        assert "Fix the highlighted filters above to see which runs they choose." in page
        assert run.thread_id not in page
