"""A cost alert states its amounts as the cost pages do, to the millionth: rounded to cents, a threshold
alert on a $0.0005 cap said "of $0.00 spent" (and the spend to four places)."""

from __future__ import annotations

from orchestrator.budgets import money
from orchestrator.models import CostAlert, SpendEvent
from orchestrator.services import run_start


def test_a_threshold_alert_on_a_small_cap_names_it_exactly(priced, advance, make_budget):
    make_budget("Pilot", cap="0.0005", thresholds=[10])
    run = run_start(workflow="cost_probe", input={"calls": 1})
    advance(run)

    alert = CostAlert.objects.get(kind="threshold")
    # A cap this small gets a hold per call: the first call's settlement already passes 10 %.
    spent = SpendEvent.objects.filter(run=run).order_by("id").first().cost
    assert alert.message == f'Budget "Pilot" passed 10% of its cap: {money(spent)} of $0.0005 spent.'


def test_a_cap_in_whole_dollars_keeps_its_cents(priced, advance, make_budget):
    make_budget("Team", cap="0.01", thresholds=[1])
    advance(run_start(workflow="cost_probe", input={"calls": 1}))
    assert " of $0.01 spent." in CostAlert.objects.get(kind="threshold").message
