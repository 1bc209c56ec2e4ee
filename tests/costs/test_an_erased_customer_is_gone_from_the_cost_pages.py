"""Erasing a customer's runs (`audit erase --label customer=…`) takes the label's value off the cost pages
too: every call's spend row carries the run's labels, and the chargeback CSV and the dashboard's "by label"
chart read them from there, so an erased customer's name or e-mail address was still handed out there.
The spend itself stays counted (under the erased marker), so the month's totals do not change; and the
daily roll-up's sums by run, which carry the same labels, are rewritten with the spend rows."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from audit.date_range import day_start
from audit.erasure import ERASED_TEXT, audit_erase
from orchestrator.models import SpendRunDaily
from orchestrator.services import run_start
from orchestrator.spend_rollup import MARGIN, spend_rollup, spend_rollup_mark

CUSTOMER = "ana@customer.example"
# The roll-up as it runs after midnight: today's spend is summed (orchestrator.spend_rollup).
AFTER_TODAY = day_start(datetime.now(UTC).date() + timedelta(days=1)) + MARGIN + timedelta(minutes=1)


@pytest.mark.parametrize("rolled_up", [False, True], ids=["spend rows", "days already rolled up"])
def test_an_erased_label_value_is_in_neither_the_chargeback_nor_the_spend_chart(
        rolled_up, priced, advance, admin_user, compliance_user, client_for):
    run = run_start(workflow="cost_probe", input={"calls": 1}, labels={"customer": CUSTOMER, "department": "legal"})
    assert advance(run) == "completed"
    if rolled_up:
        spend_rollup(now=AFTER_TODAY)  # today's sums are in the roll-up: the pages read them from there
        assert spend_rollup_mark() > datetime.now(UTC).date()
    month = datetime.now(UTC).strftime("%Y-%m")
    client = client_for(compliance_user)

    def chargeback() -> list[list[str]]:
        response = client.get(reverse("audit:chargeback"), {"month": month, "label_key": "customer"})
        assert response.status_code == 200
        return list(csv.reader(io.StringIO(response.content.decode())))

    before = chargeback()
    assert before[1][1] == CUSTOMER

    audit_erase(actor=admin_user, label=("customer", CUSTOMER))

    after = chargeback()
    assert CUSTOMER not in str(after), "the chargeback CSV still names the erased customer"
    assert after[1][1] == ERASED_TEXT and after[1][2:] == before[1][2:], "the spend is still counted, unnamed"
    page = client.get(reverse("audit:costs"), {"by": "label", "label_key": "customer"})
    assert page.status_code == 200
    assert CUSTOMER not in page.content.decode(), "the spend chart still names the erased customer"
    assert not SpendRunDaily.objects.filter(labels__customer=CUSTOMER).exists()
