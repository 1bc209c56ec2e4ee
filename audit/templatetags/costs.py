"""Template filters for amounts: `{{ amount|money }}` → $1.00, $2.50, $0.0003; `{{ delta|money_delta }}`
→ +$0.000167, -$0.000114, $0.00. Every significant digit down to a millionth, as everywhere costs are
shown: rounded to four places, a fork that cost $0.000414 against $0.000548 read as equal."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template

from orchestrator.budgets import money as _money

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
