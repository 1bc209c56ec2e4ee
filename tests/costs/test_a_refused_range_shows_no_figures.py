"""The spend dashboard refuses a date range the way the runs list and decision log do: the fields
keep what was typed, the error says what is wrong, and no figures are shown for a range nobody asked
about (neither the swapped one nor a default put in place of a day it could not read)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from orchestrator.models import SpendEvent
from orchestrator.services import run_start

SWAP = "the start date is after the end date: swap them"


@pytest.fixture
def spend(db) -> None:
    run = run_start(workflow="research_agent", input={"question": "q"})
    SpendEvent.objects.create(run=run, workflow=run.workflow, node="answer", visit=0, call_index=0, labels={},
                              provider="demo", model="demo-small", input_tokens=10, output_tokens=5,
                              cached_tokens=0, cost=Decimal("0.25"))


def _value(page: str, name: str) -> str:
    return re.search(rf'<input type="date" name="{name}" value="([^"]*)"', page).group(1)


def test_a_swapped_range_is_shown_as_typed_with_no_figures(client_for, engineer_user, spend):
    response = client_for(engineer_user).get(reverse("audit:costs"), {"since": "2026-12-01", "until": "2026-11-01"})
    page = response.content.decode()

    assert response.status_code == 400
    assert (_value(page, "since"), _value(page, "until")) == ("2026-12-01", "2026-11-01")
    assert f'<small class="field-error" id="costs-error-since">{SWAP}</small>' in page
    assert 'aria-invalid="true"' in page.split('name="until"')[0].split('name="since"')[1]
    assert "No figures are shown for these filters." in page and f"From: {SWAP}." in page
    assert 'data-testid="total-spend"' not in page and "Top runs by cost" not in page


def test_an_unreadable_day_shows_no_figures_for_a_default_range(client_for, engineer_user, spend):
    page = client_for(engineer_user).get(reverse("audit:costs"), {"until": "June"}).content.decode()

    assert "To: &#x27;June&#x27; is not a date" in page
    assert 'data-testid="total-spend"' not in page


def test_the_htmx_answer_updates_the_error_under_each_field(client_for, engineer_user, spend):
    client = client_for(engineer_user)
    refused = client.get(reverse("audit:costs"), {"since": "2026-12-01", "until": "2026-11-01"},
                         headers={"HX-Request": "true"}).content.decode()
    fixed = client.get(reverse("audit:costs"), {"since": "2026-11-01", "until": "2026-12-01"},
                       headers={"HX-Request": "true"}).content.decode()

    # The form is not part of the htmx answer: the messages under its fields come out-of-band.
    assert f'id="costs-error-since" hx-swap-oob="true">{SWAP}</small>' in refused
    assert 'id="costs-error-since" hx-swap-oob="true"></small>' in fixed
    assert 'data-testid="total-spend"' in fixed and 'data-testid="filter-error"' not in fixed


def test_a_good_range_keeps_its_figures(client_for, engineer_user, spend):
    page = client_for(engineer_user).get(reverse("audit:costs")).content.decode()
    assert 'data-testid="total-spend">$0.25<' in page and 'data-testid="filter-error"' not in page
