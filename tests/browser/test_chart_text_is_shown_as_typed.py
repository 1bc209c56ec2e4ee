"""In a real browser, the cost charts show label values and budget names as typed: a customer called
`<i>acme</i>` reads `<i>acme</i>` in the legend (plotly drew it as an italic "acme" before), and a
budget called `<b>Legal</b> & co` keeps its tags on the budget chart's axis."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orchestrator.models import Budget, SpendEvent
from orchestrator.services import run_start

CUSTOMER = "<i>acme</i>"
BUDGET = "<b>Legal</b> & co"


@pytest.fixture
def spend_by_customer(transactional_db) -> None:
    for customer, cost in ((CUSTOMER, "0.40"), ("globex", "0.10")):
        run = run_start(workflow="research_agent", input={"question": "q"}, labels={"customer": customer})
        SpendEvent.objects.create(run=run, workflow=run.workflow, node="answer", visit=0, call_index=0,
                                  labels=run.labels, provider="demo", model="demo-small", input_tokens=900,
                                  output_tokens=300, cached_tokens=0, cost=Decimal(cost))
    Budget.objects.create(name=BUDGET, scope="label", match="customer=globex", cap=Decimal(1))


def test_a_label_value_with_tags_reads_as_typed_in_the_legend(page, login_as, screenshot, admin_user,
                                                              spend_by_customer):
    login_as(page, admin_user)
    page.goto("/costs/?by=label&label_key=customer")
    legend = page.locator("#chart-spend .legend .legendtext")
    legend.first.wait_for()
    screenshot(page, "costs-legend-as-typed")

    assert sorted(legend.all_text_contents()) == [CUSTOMER, "globex"]
    assert page.locator("#chart-spend i").count() == 0, "an <i> element was made from the label"
    assert page.locator("#chart-spend tspan[style*='italic']").count() == 0, "the label was drawn in italics"

    ticks = page.locator("#chart-budgets .yaxislayer-above .ytick text").all_text_contents()
    assert any(t.startswith(BUDGET) for t in ticks), ticks
    assert page.locator("#chart-budgets tspan[style*='bold']").count() == 0, "the budget name was drawn in bold"
