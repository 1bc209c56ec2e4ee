"""`{% run_ledger_status run as status %}`: the run page's ledger badge state (audit/_verified_badge.html)."""

from __future__ import annotations

from django import template

from audit.selectors_ledger import LedgerStatus
from audit.selectors_ledger import run_ledger_status as _run_ledger_status

register = template.Library()


@register.simple_tag
def run_ledger_status(run: object) -> LedgerStatus:
    return _run_ledger_status(run)
