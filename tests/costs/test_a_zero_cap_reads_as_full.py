"""A budget with a $0 cap lets no call through, so its usage reads as full, not "0 %" in green while
every run it covers stops at its first call."""

from __future__ import annotations

import re
from decimal import Decimal

from django.urls import reverse

from audit.selectors_costs import budget_rows
from orchestrator.models import Budget


def test_a_zero_cap_is_shown_full_and_says_why(client_for, admin_user):
    Budget.objects.create(name="Frozen", scope="global", match="", period="monthly", cap=Decimal(0),
                          soft_thresholds=[])

    row = next(r for r in budget_rows() if r["budget"].name == "Frozen")
    assert (row["pct_raw"], row["level"]) == (100.0, "over")
    page = client_for(admin_user).get(reverse("audit:budgets")).content.decode()
    frozen = re.search(r'data-budget="Frozen".*?</tr>', page, re.S).group(0)
    assert 'class="usage-bar level-over"' in frozen and 'style="width: 100.00%"' in frozen
    assert "$0.00 spent · <span data-testid=\"zero-cap\">a $0 cap stops every call while active</span>" in frozen
