"""Text for plotly figures, shown as typed.

plotly.js reads trace names, category labels, bar text and hover text as pseudo-HTML: `<i>acme</i>`
in a label value became an italic "acme" in the legend, `<br>` a line break, `<a href>` a link. Every
string a user or a model supplied (label values, thread ids, node, budget and model names) goes
through `plot_text` before it reaches a figure; plotly turns the entities back into the characters
(`&lt;` shows as `<`), so the text reads exactly as stored.
"""

from __future__ import annotations

import html

# A hover template that names its trace: the escaped name is inserted as a value, so a name holding
# "%{y}" is not taken for a placeholder as it would be if it were written into the template itself.
TRACE_NAME = "%{fullData.name}"


def plot_text(value: object) -> str:
    """`value` as text plotly shows literally: `&`, `<` and `>` as entities (quotes need none)."""
    return html.escape(str(value), quote=False)
