"""Plotly figures for the cost dashboard, built from plain selector data (no HTTP, no queries).
Each returns a <div> (plotly.js is vendored and loaded by the page) or "" when there is nothing to draw."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import plotly.graph_objects as go

from audit.plot_embed import figure_html
from audit.plot_text import TRACE_NAME, plot_text
from orchestrator.budgets import money
from orchestrator.models import Budget, BudgetPeriod

INK, MUTED = "#101828", "#667085"
PALETTE = ["#4f46e5", "#0ea5e9", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6", "#14b8a6", "#f97316", "#64748b"]
_CONFIG = {"displayModeBar": False, "responsive": True}
BUDGET_BAR_HEIGHT, BUDGET_CHART_MARGIN = 44, 64  # px per budget; px for the axis, its title and padding


def _layout(fig: go.Figure, *, height: int, **extra: Any) -> None:
    fig.update_layout(
        height=height, margin={"l": 56, "r": 12, "t": 12, "b": 40}, paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)", font={"family": "system-ui, sans-serif", "size": 11, "color": INK},
        legend={"orientation": "h", "y": -0.18}, **extra,
    )


def spend_over_time_html(rows: list[dict[str, Any]], *, since: date, until: date, top: int = 8) -> str:
    """Stacked daily spend per key; keys beyond the `top` biggest are summed as "other"."""
    if not rows:
        return ""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        totals[r["key"]] += r["cost"]
    keep = [k for k, _ in sorted(totals.items(), key=lambda kv: -kv[1])[:top]]
    days = [since + timedelta(days=i) for i in range((until - since).days + 1)]
    series: dict[str, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for r in rows:
        series[r["key"] if r["key"] in keep else "other"][r["day"]] += r["cost"]
    fig = go.Figure()
    for i, key in enumerate([*keep, *(["other"] if "other" in series else [])]):
        fig.add_bar(name=plot_text(key), x=days, y=[float(series[key][d]) for d in days],
                    marker_color=PALETTE[i % len(PALETTE)],
                    hovertemplate=f"{TRACE_NAME}<br>%{{x}}: $%{{y:.4f}}<extra></extra>")
    _layout(fig, height=300, barmode="stack", showlegend=True, yaxis={"title": "USD", "gridcolor": "#eaecf0", "tickformat": "$.4f"},
            xaxis={"type": "date"})
    return figure_html(fig, div_id="chart-spend", config=_CONFIG)


def tokens_html(tokens: dict[str, int]) -> str:
    if not any(tokens.values()):
        return ""
    fig = go.Figure(go.Bar(x=[plot_text(k) for k in tokens], y=list(tokens.values()), marker_color=PALETTE[:3],
                           text=[f"{v:,}" for v in tokens.values()], textposition="outside"))
    _layout(fig, height=260, yaxis={"title": "tokens", "gridcolor": "#eaecf0"}, showlegend=False)
    return figure_html(fig, div_id="chart-tokens", config=_CONFIG)


def _period_words(budget: Budget) -> str:
    when = {BudgetPeriod.DAILY: "today", BudgetPeriod.MONTHLY: "this month"}.get(budget.period, "all time")
    if budget.scope == "run":  # the bar is the run closest to its cap
        return "· costliest run" + ("" if budget.period == BudgetPeriod.TOTAL else f" {when}")
    return f"· {when}"


def budget_utilization_html(rows: list[dict[str, Any]]) -> str:
    active = [r for r in rows if r["budget"].active]
    if not active:
        return ""
    # Each budget's amounts go under its name, not on its bar: an empty bar's text started at 0 %,
    # right against the name, and read as one label running into the plot.
    # The bars are the budgets' current periods whatever the page's dates, so each says which one.
    names = [f"{plot_text(r['budget'].name)}<br><span style='color:{MUTED}'>{money(r['spent'] + r['reserved'])} of "
             f"{money(r['budget'].cap)} {_period_words(r['budget'])}</span>" for r in active]
    colors = {"ok": "#10b981", "warn": "#f59e0b", "over": "#ef4444"}
    fig = go.Figure(go.Bar(
        y=names, x=[r["pct_raw"] for r in active], orientation="h", marker_color=[colors[r["level"]] for r in active],
        customdata=[plot_text(r["budget"].name) for r in active], hovertemplate="%{customdata}: %{x:.1f}% of cap<extra></extra>",
    ))
    # Budget names are long: automargin widens the left margin to fit them instead of a fixed one
    # they overflow; the height follows the number of bars, so one budget is not a tall empty card.
    # A short axis title: on a phone the names leave the plot ~110 px, and a longer one was cut off
    # at the card's edge; the card's note says what the percentage counts.
    _layout(fig, height=BUDGET_CHART_MARGIN + BUDGET_BAR_HEIGHT * len(active), showlegend=False, bargap=0.35,
            xaxis={"title": "% of cap", "range": [0, max(100, *(r["pct_raw"] for r in active))],
                   "gridcolor": "#eaecf0", "automargin": True},
            yaxis={"autorange": "reversed", "automargin": True, "ticksuffix": "  "})
    fig.update_layout(margin={"l": 8, "t": 8})
    fig.add_vline(x=100, line_color=MUTED, line_dash="dot")
    return figure_html(fig, div_id="chart-budgets", config=_CONFIG)
