"""Every figure shows the text people and models supplied as typed: plotly.js reads trace names,
category labels and hover text as pseudo-HTML, so a label value `<i>acme</i>` became an italic
"acme" and `%{y}` in a name a number. Each builder hands plotly the text escaped (`&lt;i&gt;…`, which
plotly shows as `<i>…`) and never writes supplied text into a hover template."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from audit import charts, charts_costs

TYPED = "<i>acme</i> & <b>co</b> %{y}"
SHOWN = "&lt;i&gt;acme&lt;/i&gt; &amp; &lt;b&gt;co&lt;/b&gt; %{y}"


def _figure(html: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The data and layout of the figure a builder wrote into its JSON data block (plot_embed)."""
    block = re.search(r'<script type="application/json" data-plot-for="[^"]+">(.*?)</script>', html, re.S)
    figure = json.loads(block.group(1))["figure"]
    return figure["data"], figure["layout"]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _assert_never_raw(html: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    data, layout = _figure(html)
    texts = _strings(data) + _strings(layout)
    assert not [t for t in texts if "<i>" in t or "<b>" in t], "supplied text reached plotly unescaped"
    assert not [t for t in _strings([trace.get("hovertemplate") for trace in data]) if "acme" in t], \
        "supplied text was written into a hover template"
    return data, layout


def test_a_label_value_is_escaped_in_the_spend_legend_and_hover():
    rows = [{"day": date(2026, 11, 2), "key": TYPED, "cost": Decimal("0.5")},
            {"day": date(2026, 11, 2), "key": "globex", "cost": Decimal("0.2")}]
    data, _ = _assert_never_raw(charts_costs.spend_over_time_html(rows, since=date(2026, 11, 1),
                                                                  until=date(2026, 11, 3)))
    assert [trace["name"] for trace in data] == [SHOWN, "globex"]
    assert all(trace["hovertemplate"].startswith("%{fullData.name}<br>") for trace in data)


def test_a_budget_name_is_escaped_on_its_axis_and_in_its_hover():
    budget = SimpleNamespace(name=TYPED, active=True, cap=Decimal(5), scope="label", period="monthly")
    rows = [{"budget": budget, "spent": Decimal(1), "reserved": Decimal(0), "pct_raw": 20.0, "level": "ok"}]
    data, _ = _assert_never_raw(charts_costs.budget_utilization_html(rows))
    assert data[0]["y"][0].startswith(SHOWN + "<br><span")  # the product's own markup stays markup
    assert data[0]["customdata"] == [SHOWN]


def test_token_kinds_are_escaped():
    data, _ = _assert_never_raw(charts_costs.tokens_html({TYPED: 3, "Output": 4}))
    assert data[0]["x"] == [SHOWN, "Output"]


def test_a_node_name_is_escaped_on_the_waterfall_axis_and_hover():
    rows = [{"label": TYPED, "duration_ms": 12.0, "cost": "0.001", "count": 1, "tokens": 10}]
    data, _ = _assert_never_raw(charts.waterfall_html(rows))
    assert data[0]["x"] == [SHOWN]
    assert data[0]["hovertext"][0].startswith(SHOWN + "<br>")


def test_thread_ids_are_escaped_on_the_regression_chart_axis_and_hover():
    parent = SimpleNamespace(thread_id=f"wf-{TYPED}", workflow="wf")
    fork = SimpleNamespace(thread_id=f"wf-{TYPED}-fork-1")
    rows = [{"parent": parent, "fork": fork, "cost_before": Decimal("0.2"), "cost_after": Decimal("0.3")}]
    data, layout = _assert_never_raw(charts.cost_change_html(rows))
    assert layout["yaxis"]["ticktext"] == [SHOWN]
    assert [trace["customdata"] for trace in data] == [[f"wf-{SHOWN}"], [f"wf-{SHOWN}-fork-1"]]
