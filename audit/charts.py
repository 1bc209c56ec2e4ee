"""Figures for the run pages, built from plain selector data (no HTTP, no queries).

`waterfall_html` is a plotly figure rendered to a <div> and its figure as JSON (plot_embed; plotly.js
is vendored and loaded by the page). `graph_drawing` lays out a workflow graph for an inline SVG: layers by distance from
START, top to bottom, with back edges (loops) drawn as curves on the right.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal
from typing import Any

import plotly.graph_objects as go

from audit.plot_embed import figure_html
from audit.plot_text import TRACE_NAME, plot_text
from orchestrator.budgets import money
from orchestrator.graph import END, START, Graph

INK, MUTED, BRAND, WARN = "#101828", "#667085", "#4f46e5", "#b54708"


def waterfall_html(rows: list[dict[str, Any]]) -> str:
    """Cumulative node durations as a waterfall; each bar's label and hover show its cost. Empty
    when there is nothing to draw: no rows, or no duration that shows at 0.1 ms precision. Its title
    is the card's header on the page (HTML wraps on a phone; a plotly title was cut off)."""
    if not rows:
        return ""
    labels = [plot_text(r["label"]) for r in rows]
    durations = [round(float(r["duration_ms"]), 2) for r in rows]
    if not any(round(d, 1) for d in durations):
        # Every node took under 0.05 ms (the timeline says 0.0 ms): plotly would draw a blank
        # -1…1 axis, so the page says so in words instead.
        return ""
    costs = [Decimal(r["cost"] or 0) for r in rows]
    hover = []
    for label, r, d, c in zip(labels, rows, durations, costs, strict=True):
        over = f" over {r['count']} steps" if r["count"] > 1 else ""
        hover.append(f"{label}<br>{d:.1f} ms{over}<br>{r['tokens']} tokens · {money(c)}")
    fig = go.Figure(go.Waterfall(
        x=labels, y=durations, measure=["relative"] * len(rows),
        text=[money(c) if c else "" for c in costs], textposition="outside",
        hovertext=hover, hoverinfo="text",
        increasing={"marker": {"color": BRAND}}, connector={"line": {"color": "#d0d5dd", "width": 1}},
    ))
    fig.update_layout(
        margin={"l": 50, "r": 10, "t": 24, "b": 90}, height=300, showlegend=False,
        paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)",
        font={"family": "system-ui, sans-serif", "size": 11, "color": INK},
        yaxis={"title": "ms", "gridcolor": "#eaecf0"}, xaxis={"tickangle": -40},
    )
    return figure_html(fig, div_id="waterfall", config={"displayModeBar": False, "responsive": True})


BATCH_ROW_PX, BATCH_MARGIN_PX, BATCH_LABEL_CHARS = 34, 84, 28


def _batch_labels(thread_ids: list[str], workflow: str) -> list[str]:
    """Short names for a batch's runs: their thread ids without the workflow's name they all start
    with, and the tail of any still too long (the distinguishing part of an id is its end)."""
    prefix = f"{workflow}-"
    if workflow and all(t.startswith(prefix) for t in thread_ids):
        thread_ids = [t.removeprefix(prefix) for t in thread_ids]
    return [t if len(t) <= BATCH_LABEL_CHARS else "…" + t[-(BATCH_LABEL_CHARS - 1):] for t in thread_ids]


def cost_change_html(rows: list[dict[str, Any]]) -> str:
    """Regression batch: original vs replayed cost per run, as pairs of horizontal bars in the
    table's order. Horizontal, so each run's name is written out in full beside its bars instead of
    cut to a stub under them; the full thread ids are in the hover. Runs are placed by position and
    named by tick text, so two short names that happen to match never merge into one bar."""
    if not rows:
        return ""
    parents = [r["parent"].thread_id for r in rows]
    labels = [plot_text(t) for t in _batch_labels(parents, rows[0]["parent"].workflow)]
    before, after = [float(r["cost_before"]) for r in rows], [float(r["cost_after"]) for r in rows]
    positions = list(range(len(rows)))
    hover = "%{customdata}<br>" + TRACE_NAME + ": $%{x:.4f}<extra></extra>"
    fig = go.Figure([
        go.Bar(name="original (from fork point)", y=positions, x=before, orientation="h", marker_color="#98a2b3",
               customdata=[plot_text(t) for t in parents], hovertemplate=hover),
        go.Bar(name="replay", y=positions, x=after, orientation="h", marker_color=BRAND,
               customdata=[plot_text(r["fork"].thread_id) for r in rows], hovertemplate=hover),
    ])
    # The axis is fixed to the data with room to spare: autorange ran the longest bar into the edge
    # of the plot, under the legend.
    top = max(*before, *after)
    fig.update_layout(
        barmode="group", bargap=0.25, height=BATCH_MARGIN_PX + BATCH_ROW_PX * len(rows),
        margin={"l": 10, "r": 16, "t": 36, "b": 48},
        paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)",
        font={"family": "system-ui, sans-serif", "size": 11, "color": INK},
        xaxis={"title": "cost from the fork point", "tickformat": "$.4f", "gridcolor": "#eaecf0",
               "range": [0, top * 1.1 if top else 0.0001], "automargin": True},
        yaxis={"tickvals": positions, "ticktext": labels, "autorange": "reversed", "automargin": True,
               "ticksuffix": " "},
        legend={"orientation": "h", "x": 0, "y": 1, "yanchor": "bottom"},
    )
    # No fixed div id: the page's poll replaces the chart, and a fixed id would get its old attributes
    # back after the swap (its legend and axis title then fell out of the card); see figure_html.
    return figure_html(fig, config={"displayModeBar": False, "responsive": True})


# --- the workflow graph ---------------------------------------------------------------------------
NODE_W, NODE_H, ROW_H, COL_W, PAD = 150, 34, 58, 170, 16


def _targets(graph: Graph, name: str) -> list[tuple[str, str]]:
    """(target, kind) pairs leaving `name` (Graph.exits), less a rejection's default way to END, which
    every gate has and the drawing leaves out."""
    return [(target, kind) for target, kind in graph.exits(name) if not (kind == "reject" and target == END)]


def graph_drawing(graph: Graph, *, visits: dict[str, int], current: str) -> dict[str, Any]:
    """Positions of nodes and paths of edges for an SVG; `current` is the run's next node."""
    layer: dict[str, int] = {START: 0}
    queue = deque([START])
    while queue:
        name = queue.popleft()
        for target, _kind in _targets(graph, name):
            if target not in layer:
                layer[target] = layer[name] + 1
                queue.append(target)
    for name in graph.nodes:  # unreachable nodes still get drawn, at the bottom
        layer.setdefault(name, max(layer.values()) + 1)
    layer.setdefault(END, max(layer.values()) + 1)
    rows: dict[int, list[str]] = {}
    for name, depth in sorted(layer.items(), key=lambda kv: kv[1]):
        rows.setdefault(depth, []).append(name)
    width_cols = max(len(names) for names in rows.values())
    width = PAD * 2 + width_cols * COL_W + 60
    pos: dict[str, tuple[float, float]] = {}
    for depth, names in rows.items():
        offset = (width_cols - len(names)) * COL_W / 2
        for i, name in enumerate(names):
            pos[name] = (PAD + offset + i * COL_W + (COL_W - NODE_W) / 2, PAD + depth * ROW_H)
    nodes = []
    for name, (x, y) in pos.items():
        node = graph.nodes.get(name)
        kind = "terminal" if name in (START, END) else ("gate" if node and node.is_gate else "node")
        nodes.append({
            "name": name, "label": {START: "start", END: "end"}.get(name, name), "x": x, "y": y,
            "w": NODE_W, "h": NODE_H, "cx": x + NODE_W / 2, "ty": y + NODE_H / 2 + 4, "kind": kind,
            "visits": visits.get(name, 0), "current": name == current or (name == END and current == ""),
        })
    edges = []
    right = PAD + width_cols * COL_W
    for source in pos:
        for target, kind in _targets(graph, source):
            if target not in pos:
                continue
            (x1, y1), (x2, y2) = pos[source], pos[target]
            if layer[target] > layer[source]:
                path = f"M{x1 + NODE_W / 2:.0f},{y1 + NODE_H:.0f} L{x2 + NODE_W / 2:.0f},{y2 - 2:.0f}"
            else:  # a loop back up: around the right side
                sx, sy, tx, ty = x1 + NODE_W, y1 + NODE_H / 2, x2 + NODE_W, y2 + NODE_H / 2
                bulge = right + 20 + 12 * len(edges) % 40
                path = f"M{sx:.0f},{sy:.0f} C{bulge:.0f},{sy:.0f} {bulge:.0f},{ty:.0f} {tx + 2:.0f},{ty:.0f}"
            edges.append({"path": path, "kind": kind})
    height = PAD * 2 + (max(rows) + 1) * ROW_H - (ROW_H - NODE_H)
    return {"nodes": nodes, "edges": edges, "width": width, "height": height}
