"""Template filters for amounts: `{{ amount|money }}` → $1.00, $2.50, $0.0003; `{{ delta|money_delta }}`
→ +$0.000167, -$0.000114, $0.00. Every significant digit down to a millionth, as everywhere costs are
shown: rounded to four places, a fork that cost $0.000414 against $0.000548 read as equal.
`{{ amount|money|aligned }}` in a table column pads the decimals with figure spaces, so the decimal
points line up (td.num is right-aligned with tabular figures) without hiding a digit."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template

from orchestrator.budgets import money as _money
from orchestrator.llm.pricing import MICRO_DOLLAR

# money() shows every significant digit down to the millionth costs are kept to: six places.
_PLACES = -MICRO_DOLLAR.as_tuple().exponent
_FIGURE_SPACE = "\u2007"  # as wide as a digit in tabular figures

register = template.Library()


@register.filter
def money(value: object) -> str:
    try:
        return _money(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return ""


@register.filter
def money_delta(value: object) -> str:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return ""
    sign = "+" if amount > 0 else "-" if amount < 0 else ""
    return sign + _money(abs(amount))


@register.filter
def aligned(text: str) -> str:
    """$0.00156 → "$0.00156\u2007", $12.50 → "$12.50" + four figure spaces: every amount of a column
    ends at the millionths' place, so right-aligned amounts line up at the decimal point."""
    whole, dot, decimals = str(text).partition(".")
    if not dot:
        return text
    return f"{whole}.{decimals}{_FIGURE_SPACE * max(0, _PLACES - len(decimals))}"
