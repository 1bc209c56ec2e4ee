"""Plotly figures embedded without inline script, so the pages' Content-Security-Policy can forbid it.

plotly's `to_html` writes a `<script>Plotly.newPlot(…)</script>` per chart. Here the figure travels as a
JSON data block (`<script type="application/json">`, which browsers never execute) and
`static/js/charts.js` draws every block on page load and after each htmx swap.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import plotly.graph_objects as go
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

# Inside <script> only "</script" could end the block early; escaping <, > and & (as Django's
# json_script does) keeps text from charts' labels (LLM output, label values) from ever doing that.
_SCRIPT_SAFE = str.maketrans({"<": "\\u003C", ">": "\\u003E", "&": "\\u0026"})


def figure_html(fig: go.Figure, *, config: dict[str, Any], div_id: str | None = None) -> SafeString:
    """The chart's <div> (sized as plotly would size it, so the page does not jump while it draws) and its
    figure. Without `div_id` each render gets a fresh id: htmx gives an element that keeps its id across
    a swap its old attributes back, which strips the classes plotly just set on the new plot."""
    div_id = div_id or f"plot-{uuid.uuid4().hex[:12]}"
    spec = f'{{"figure":{fig.to_json()},"config":{json.dumps(config)}}}'.translate(_SCRIPT_SAFE)
    height = fig.layout.height
    return format_html(
        '<div class="plot" style="height:{}; width:100%;"><div id="{}" class="plotly-graph-div" '
        'style="height:100%; width:100%;"></div><script type="application/json" data-plot-for="{}">{}</script></div>',
        f"{height}px" if height else "100%", div_id, div_id, mark_safe(spec),  # noqa: S308 - escaped above
    )
