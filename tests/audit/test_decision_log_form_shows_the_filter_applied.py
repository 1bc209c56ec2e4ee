"""The decision log's form shows the filter the page applied: a "Who" (or workflow) from a link that
no decision has is shown selected and refused by name, rather than listing nothing under a form that
says "anyone"."""

from __future__ import annotations

import re

import pytest

from review.services import DecisionInput, review_decide
from tests.review.fixtures import email_item  # noqa: F401  (fixture)


def _selected(page: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', page, re.S).group(1)
    return re.findall(r"<option[^>]*selected[^>]*>([^<]*)</option>", select)


@pytest.fixture
def decided(email_item, reviewer_user):  # noqa: F811
    review_decide(item=email_item(), actor=reviewer_user, decision=DecisionInput("approve"))


def test_an_unknown_actor_is_shown_selected_and_refused_by_name(decided, compliance_user, client_for):
    client = client_for(compliance_user)
    url = "/audit/decisions/?actor=nobody&decision=approve"

    page = client.get(url)
    fragment = client.get(url, headers={"HX-Request": "true", "HX-Target": "decision-rows"}).content.decode()

    html = page.content.decode()
    assert page.status_code == 400
    assert _selected(html, "actor") == ["nobody"] and _selected(html, "decision") == ["approve"]
    message = "Who: no decision was recorded by &#x27;nobody&#x27;: choose someone from the list, or anyone."
    assert message in html and message in fragment
    assert 'data-testid="decision-row"' not in html and "No decisions match" not in html


def test_an_unknown_workflow_is_shown_selected_and_refused_by_name(decided, compliance_user, client_for):
    html = client_for(compliance_user).get("/audit/decisions/?workflow=payroll").content.decode()

    assert _selected(html, "workflow") == ["payroll"]
    assert "Workflow: no run of a workflow called &#x27;payroll&#x27; is in the ledger" in html


def test_a_known_actor_filters_as_before(decided, compliance_user, reviewer_user, client_for):
    html = client_for(compliance_user).get(f"/audit/decisions/?actor={reviewer_user.username}").content.decode()

    assert _selected(html, "actor") == [reviewer_user.username]
    assert html.count('data-testid="decision-row"') == 1 and 'data-testid="filter-error"' not in html
