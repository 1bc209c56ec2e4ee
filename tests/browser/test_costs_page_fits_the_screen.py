"""The Costs page on a phone and on a desktop: the filters wrap inside their card instead of widening
the page, and the budget chart's names sit beside its bars (not over them) in a card sized to them; the
cost tables become cards on a phone instead of scrolling sideways."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orchestrator.models import Budget, ModelPrice, SpendEvent
from orchestrator.services import run_start
from tests.costs.conftest import probe_workflow  # noqa: F401 - fixture


@pytest.fixture
def spend_and_budgets(transactional_db) -> None:
    run = run_start(workflow="research_agent", input={"question": "q"}, labels={"department": "legal"})
    SpendEvent.objects.create(run=run, workflow=run.workflow, node="answer", visit=0, call_index=0,
                              labels=run.labels, provider="demo", model="demo-small", input_tokens=900,
                              output_tokens=300, cached_tokens=0, cost=Decimal("0.40"))
    # The data migration seeds this one; a transactional test's first run still has it.
    Budget.objects.update_or_create(name="Default per-run cap",
                                    defaults={"scope": "run", "period": "total", "cap": Decimal(5)})
    Budget.objects.create(name="Legal department monthly", scope="label", match="department=legal",
                          cap=Decimal(1))


def _box(locator) -> dict[str, float]:
    box = locator.bounding_box()
    assert box is not None, locator
    return {**box, "right": box["x"] + box["width"], "bottom": box["y"] + box["height"]}


def test_on_a_phone_the_filters_wrap_inside_their_card(page, login_as, screenshot, admin_user, spend_and_budgets):
    page.set_viewport_size({"width": 390, "height": 844})
    login_as(page, admin_user)
    page.goto("/costs/")
    page.get_by_test_id("total-spend").wait_for()
    screenshot(page, "costs-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling"
    card = _box(page.get_by_role("search", name="Filter spend"))
    for name in ("since", "until", "by", "label_key"):
        field = _box(page.locator(f".costs-filters [name={name}]"))
        assert card["x"] <= field["x"] and field["right"] <= card["right"], f"{name} sticks out of its card"
        assert field["width"] >= 120, f"{name} is squashed to {field['width']}px"
    assert _box(page.get_by_role("button", name="Apply"))["right"] <= card["right"]
    assert _box(page.get_by_role("button", name="Chargeback CSV"))["right"] <= 390
    # The names leave the budget chart's plot narrow here; its axis title still fits inside the card.
    chart = page.locator("#chart-budgets")
    axis_title = _box(chart.locator(".g-xtitle text"))
    assert axis_title["right"] <= _box(chart)["right"], "the budget chart's axis title is cut off"
    assert chart.locator(".g-xtitle text").text_content() == "% of cap"


def test_on_a_desktop_the_budget_chart_names_sit_beside_bars_in_a_card_sized_to_them(
        page, login_as, screenshot, admin_user, spend_and_budgets):
    login_as(page, admin_user)
    page.goto("/costs/")
    chart = page.locator("#chart-budgets")
    plot_area = chart.locator(".draglayer .nsewdrag").first
    plot_area.wait_for()
    screenshot(page, "costs-desktop")
    names = chart.locator(".yaxislayer-above .ytick text")
    # Name, then amounts and the period they are for: the bars ignore the page's dates.
    assert sorted(t.strip() for t in names.all_text_contents()) == [
        "Default per-run cap$0.00 of $5.00 · costliest run", "Legal department monthly$0.00 of $1.00 · this month"]
    assert "whatever the dates above" in page.get_by_test_id("budget-chart-note").inner_text()
    assert chart.locator(".bartext").count() == 0, "no text on the bars to run into the names"
    plot_left, chart_left = _box(plot_area)["x"], _box(chart)["x"]
    for i in range(names.count()):
        name = _box(names.nth(i))
        assert name["right"] <= plot_left + 1, "a budget's name runs into the plot"
        assert name["x"] >= chart_left, "a budget's name is cut off at the card's edge"
    card = _box(page.locator("article.card").filter(has=chart))
    assert card["bottom"] - _box(chart)["bottom"] < 40, "the card has an empty bottom part"
    assert _box(chart)["height"] <= 160, "two bars need no more than this"


@pytest.mark.parametrize(("path", "table", "label"), [
    ("/costs/", "Top runs by cost", "Tokens"),
    ("/costs/budgets/", "budgets-table", "Usage this period"),
    ("/costs/prices/", "prices", "Cached input"),
])
def test_on_a_phone_cost_tables_become_cards_instead_of_scrolling_sideways(
        page, login_as, screenshot, admin_user, spend_and_budgets, path, table, label):
    ModelPrice.objects.create(pattern="demo-*", input_per_mtok=Decimal("0.15"), output_per_mtok=Decimal("0.60"),
                              cached_input_per_mtok=Decimal("0.075"), effective_from="2026-01-01")
    page.set_viewport_size({"width": 390, "height": 844})
    login_as(page, admin_user)
    page.goto(path)
    wrap = page.locator(".table-wrap").filter(has=page.locator("table.cards-on-phone")).last
    wrap.wait_for()
    wrap.scroll_into_view_if_needed()
    screenshot(page, f"costs-phone-{table.split()[0].lower()}")
    assert wrap.evaluate("el => el.scrollWidth <= el.clientWidth"), "the table scrolls sideways"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the page scrolls sideways"
    # Each value is labelled with its column, since the header row is out of sight.
    cell = wrap.locator(f"td[data-label='{label}']").first
    assert cell.evaluate("el => getComputedStyle(el, '::before').content") == f'"{label}"'
    assert _box(cell)["right"] <= _box(wrap)["right"] + 1
