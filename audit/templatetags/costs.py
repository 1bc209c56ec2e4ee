"""Template filters for the cost pages: `{{ amount|money }}` → $1.00, $2.50, $0.0003."""

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
