"""Costs are shown with every significant digit down to a millionth, so one column holds $12.50 above
$0.00156 above $0.000775. Right-aligned as they were, their decimal points sat at three places and
the eye compared the wrong digits; padded with figure spaces, the points line up and no digit is hidden."""

from __future__ import annotations

from decimal import Decimal

from playwright.sync_api import expect

from orchestrator.models import Run
from orchestrator.services import run_start

# The x position of the "." in each cell of the runs list's cost column.
_POINTS = """() => [...document.querySelectorAll('[data-testid=run-row] td[data-label=Cost]')].map(td => {
  const text = td.firstChild, at = text.data.indexOf('.');
  const range = document.createRange();
  range.setStart(text, at); range.setEnd(text, at + 1);
  return {text: td.innerText.trim(), x: range.getBoundingClientRect().left};
})"""


def test_the_runs_lists_costs_line_up_at_the_decimal_point(page, login_as, screenshot, engineer_user):
    for cost in ("12.5", "0.00156", "0.000775", "0"):
        run = run_start(workflow="email_approval", input={"to": "a@b.co", "topic": cost})
        Run.objects.filter(pk=run.pk).update(cost=Decimal(cost))
    login_as(page, engineer_user)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/runs/")
    expect(page.get_by_test_id("run-row")).to_have_count(4)
    points = page.evaluate(_POINTS)
    # Every digit is still there, as typed: the padding is figure spaces, not zeros.
    assert sorted(p["text"] for p in points) == ["$0.00", "$0.000775", "$0.00156", "$12.50"]
    xs = [p["x"] for p in points]
    assert max(xs) - min(xs) < 0.5, points
    screenshot(page, "runs-list-costs-aligned")


def test_a_column_s_amounts_are_padded_to_the_millionths_place_not_rounded() -> None:
    from audit.templatetags.costs import aligned, money, money_delta

    pad = "\u2007"
    assert aligned(money("12.5")) == "$12.50" + pad * 4
    assert aligned(money("0.00156")) == "$0.00156" + pad
    assert aligned(money("0.000775")) == "$0.000775"
    assert aligned(money_delta("-0.000114")) == "-$0.000114"
    assert aligned(money("not a number")) == ""
