"""The cost pages: who may open what, budget and price editing with validation (each change in the
ledger), the dashboard's figures and the monthly chargeback CSV by label."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from audit.models import LedgerEntry
from orchestrator.models import Budget, ModelPrice, SpendEvent
from orchestrator.services import run_start
from orchestrator.state import loads


@pytest.mark.parametrize("name", ["audit:costs", "audit:prices"])
def test_engineers_compliance_and_admins_may_read_spend_and_prices(client_for, engineer_user, compliance_user,
                                                                    admin_user, reviewer_user, name):
    for user in (engineer_user, compliance_user, admin_user):
        assert client_for(user).get(reverse(name)).status_code == 200
    assert client_for(reviewer_user).get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", ["audit:budgets", "audit:budget_new", "audit:price_new", "audit:cost_settings"])
def test_only_admins_may_manage_budgets_prices_and_settings(client_for, engineer_user, compliance_user, admin_user,
                                                            name):
    assert client_for(engineer_user).get(reverse(name)).status_code == 403
    assert client_for(compliance_user).post(reverse(name), {}).status_code == 403
    assert client_for(admin_user).get(reverse(name)).status_code == 200


def test_a_bad_label_scope_is_refused_with_what_to_write(client_for, admin_user):
    response = client_for(admin_user).post(reverse("audit:budget_new"), {
        "name": "Legal", "scope": "label", "label": "legal", "period": "monthly", "cap": "100",
        "soft_thresholds": "50, 80", "active": "on"})
    assert response.status_code == 200
    assert "Write the label as key=value, e.g. department=legal." in response.content.decode()
    assert not Budget.objects.filter(name="Legal").exists()


def test_thresholds_must_be_percentages(client_for, admin_user):
    response = client_for(admin_user).post(reverse("audit:budget_new"), {
        "name": "Legal", "scope": "global", "period": "monthly", "cap": "100", "soft_thresholds": "50, lots"})
    assert "Write whole percentages separated by commas, e.g. 50, 80." in response.content.decode()


def test_a_cap_change_is_recorded_in_the_ledger_with_who_and_old_and_new(client_for, admin_user):
    client = client_for(admin_user)
    client.post(reverse("audit:budget_new"), {"name": "Legal", "scope": "label", "label": "department=legal",
                                              "period": "monthly", "cap": "100", "soft_thresholds": "80",
                                              "active": "on"})
    budget = Budget.objects.get(name="Legal")
    response = client.post(reverse("audit:budget_edit", args=[budget.pk]), {
        "name": "Legal", "scope": "label", "label": "department=legal", "period": "monthly", "cap": "250",
        "soft_thresholds": "80", "active": "on", "version": budget.version})
    assert response.status_code == 302
    budget.refresh_from_db()
    assert budget.cap == Decimal("250")
    entry = LedgerEntry.objects.filter(chain="system", kind="budget_changed").get()
    assert entry.actor == "admin"
    assert loads(entry.payload)["changes"] == {"cap": {"from": "100.000000", "to": "250.000000"}}
    page = client.get(reverse("audit:budgets")).content.decode()
    assert "Legal" in page and "department=legal" in page


def test_an_admin_adds_a_price_and_the_next_call_uses_it(client_for, admin_user):
    from orchestrator.spend import price_for

    response = client_for(admin_user).post(reverse("audit:price_new"), {
        "pattern": "my-vllm-model", "input_per_mtok": "0.20", "output_per_mtok": "0.60",
        "cached_input_per_mtok": "0.10", "effective_from": "2024-01-01", "note": "self-hosted"})
    assert response.status_code == 302
    assert price_for("openai:my-vllm-model").output_per_mtok == Decimal("0.60")
    assert LedgerEntry.objects.filter(chain="system", kind="price_changed").exists()
    duplicate = client_for(admin_user).post(reverse("audit:price_new"), {
        "pattern": "my-vllm-model", "input_per_mtok": "1", "output_per_mtok": "1",
        "cached_input_per_mtok": "1", "effective_from": "2024-01-01"})
    assert "already has a price from 2024-01-01" in duplicate.content.decode()
    assert ModelPrice.objects.filter(pattern="my-vllm-model").count() == 1


def _spend(run, *, node: str, cost: str, labels: dict) -> None:
    SpendEvent.objects.create(run=run, workflow=run.workflow, node=node, visit=0, call_index=0, labels=labels,
                              provider="demo", model="demo-small", input_tokens=100, output_tokens=50,
                              cached_tokens=20, cost=Decimal(cost))


def test_the_dashboard_shows_the_periods_spend_and_top_runs(client_for, compliance_user):
    legal = run_start(workflow="research_agent", input={"question": "q"}, labels={"department": "legal"})
    _spend(legal, node="search", cost="0.25", labels={"department": "legal"})
    _spend(legal, node="answer", cost="0.50", labels={"department": "legal"})
    page = client_for(compliance_user).get(reverse("audit:costs") + "?by=node").content.decode()
    assert 'data-testid="total-spend">$0.75<' in page
    assert legal.thread_id in page
    assert "chart-spend" in page and "chart-tokens" in page
    # Plotly writes the series name as UTF-8 with orjson installed, or \u-escaped with plain json.
    assert "research_agent · answer" in page or "research_agent \\u00b7 answer" in page


def test_an_empty_period_says_so(client_for, engineer_user):
    page = client_for(engineer_user).get(reverse("audit:costs") + "?since=2001-01-01&until=2001-01-31")
    assert "No spend in this period" in page.content.decode()


def test_a_bad_date_is_explained(client_for, engineer_user):
    page = client_for(engineer_user).get(reverse("audit:costs") + "?since=yesterday").content.decode()
    assert "is not a date: use a date like 2025-01-31 (YYYY-MM-DD)" in page


def test_the_chargeback_csv_sums_a_month_by_label(client_for, compliance_user):
    legal = run_start(workflow="research_agent", input={"question": "q"}, labels={"department": "legal"})
    sales = run_start(workflow="research_agent", input={"question": "q"}, labels={"department": "=HYPERLINK()"})
    other = run_start(workflow="research_agent", input={"question": "q"})
    _spend(legal, node="search", cost="0.25", labels={"department": "legal"})
    _spend(legal, node="answer", cost="0.50", labels={"department": "legal"})
    _spend(sales, node="search", cost="0.10", labels={"department": "=HYPERLINK()"})
    _spend(other, node="search", cost="0.05", labels={})
    month = datetime.now(UTC).strftime("%Y-%m")
    response = client_for(compliance_user).get(reverse("audit:chargeback"), {"month": month,
                                                                             "label_key": "department"})
    assert response["Content-Type"].startswith("text/csv")
    today = datetime.now(UTC).date().isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="chargeback-{month}-department-{today}.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["month", "label:department", "runs", "llm_calls", "input_tokens", "cached_input_tokens",
                       "output_tokens", "cost_usd"]
    assert rows[1] == [month, "legal", "1", "2", "200", "40", "100", "0.750000"]
    assert rows[2] == [month, "'=HYPERLINK()", "1", "1", "100", "20", "50", "0.100000"], "no spreadsheet formulas"
    assert rows[3][1] == "(unlabelled)"


def test_the_chargeback_file_is_named_like_the_ledger_exports_whatever_the_label(client_for, compliance_user):
    response = client_for(compliance_user).get(reverse("audit:chargeback"), {"month": "2025-01",
                                                                             "label_key": 'Kostenstelle "Süd"\r\nX'})
    today = datetime.now(UTC).date().isoformat()
    assert response["Content-Disposition"] == \
        f'attachment; filename="chargeback-2025-01-Kostenstelle_Sud_X-{today}.csv"'


def test_the_chargeback_needs_a_label_and_a_real_month(client_for, compliance_user):
    client = client_for(compliance_user)
    assert client.get(reverse("audit:chargeback"), {"month": "2025-13", "label_key": "x"}).status_code == 400
    missing = client.get(reverse("audit:chargeback"), {"month": "2025-01"})
    assert missing.status_code == 400 and "label_key=department" in missing.content.decode()


def test_the_price_table_marks_which_row_is_in_force(client_for, engineer_user):
    from datetime import date

    for day, out in ((date(2024, 1, 1), "40"), (date(2024, 6, 1), "8"), (date(2999, 1, 1), "1")):
        ModelPrice.objects.create(pattern="probe-model", input_per_mtok=1, output_per_mtok=Decimal(out),
                                  cached_input_per_mtok=1, effective_from=day)
    page = client_for(engineer_user).get(reverse("audit:prices")).content.decode()
    rows = [line for line in page.split("<tr>") if "probe-model" in line]
    assert ["scheduled" in rows[0], "superseded" in rows[2]] == [True, True]
    assert "superseded" not in rows[1] and "scheduled" not in rows[1], "the 2024-06-01 row is the one in force"
    assert "Edit" not in rows[1], "engineers read prices; only admins edit them"
