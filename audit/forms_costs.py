"""Forms for the budget, price and cost-settings pages: they parse and type the input; the rules
(what a label must look like, per-run caps are all-time…) live in orchestrator.cost_admin."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from orchestrator.cost_admin import BudgetInput, PriceInput
from orchestrator.models import BudgetPeriod, BudgetScope

_MONEY = {"max_digits": 18, "decimal_places": 6, "min_value": Decimal(0)}


class BudgetForm(forms.Form):
    name = forms.CharField(max_length=120)
    scope = forms.ChoiceField(choices=BudgetScope.choices)
    match = forms.CharField(max_length=300, required=False, label="Applies to",
                            help_text="Workflow name, or key=value for a label; empty for everything / each run.")
    period = forms.ChoiceField(choices=BudgetPeriod.choices)
    cap = forms.DecimalField(label="Hard cap (USD)", **_MONEY)
    soft_thresholds = forms.CharField(required=False, label="Soft thresholds (% of cap)",
                                      help_text="Comma-separated, e.g. 50, 80: alert once per period at each.")
    active = forms.BooleanField(required=False, initial=True)

    def clean_soft_thresholds(self) -> list[int]:
        raw = self.cleaned_data["soft_thresholds"].replace("%", "")
        try:
            return sorted({int(part) for part in raw.replace(";", ",").split(",") if part.strip()})
        except ValueError:
            raise forms.ValidationError("Write whole percentages separated by commas, e.g. 50, 80.") from None

    def to_input(self) -> BudgetInput:
        d = self.cleaned_data
        return BudgetInput(name=d["name"].strip(), scope=d["scope"], match=d["match"].strip(), period=d["period"],
                           cap=d["cap"], soft_thresholds=d["soft_thresholds"], active=d["active"])

    @classmethod
    def initial_for(cls, budget) -> dict:
        return {"name": budget.name, "scope": budget.scope, "match": budget.match, "period": budget.period,
                "cap": budget.cap, "soft_thresholds": ", ".join(str(t) for t in budget.soft_thresholds),
                "active": budget.active}


class RaiseCapForm(forms.Form):
    # Empty resumes without a raise: the budget was removed, or its cap raised on the budgets page.
    cap = forms.DecimalField(label="New cap (USD)", required=False, **_MONEY)


class EndRunForm(forms.Form):
    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
                             error_messages={"required": "Say why the run ends: it is recorded."})


class PriceForm(forms.Form):
    pattern = forms.CharField(max_length=200, help_text="fnmatch pattern on the model name, e.g. gpt-4o-mini*")
    input_per_mtok = forms.DecimalField(label="Input / Mtok", **_MONEY)
    output_per_mtok = forms.DecimalField(label="Output / Mtok", **_MONEY)
    cached_input_per_mtok = forms.DecimalField(label="Cached input / Mtok", **_MONEY)
    effective_from = forms.DateField(label="Effective from", widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(max_length=300, required=False)

    def to_input(self) -> PriceInput:
        return PriceInput(**self.cleaned_data)

    @classmethod
    def initial_for(cls, price) -> dict:
        return {f: getattr(price, f) for f in cls.base_fields}


class CostSettingsForm(forms.Form):
    allow_unpriced = forms.BooleanField(required=False, label="Allow models with no price (counted as $0)")
    anomaly_k = forms.DecimalField(label="Anomaly factor k", min_value=Decimal(1), max_digits=8, decimal_places=2,
                                   help_text="Alert when a node's spend in a run passes k × its p95.")
    anomaly_window = forms.IntegerField(label="Recent runs for the p95", min_value=2, max_value=1000)
    anomaly_min_runs = forms.IntegerField(label="Runs needed before alerting", min_value=1, max_value=1000)
    alert_emails = forms.CharField(required=False, max_length=1000, label="Alert emails (comma-separated)")
    alert_webhook_url = forms.URLField(required=False, max_length=500, label="Alert webhook URL", assume_scheme="https")

    def clean_alert_emails(self) -> str:
        raw = self.cleaned_data["alert_emails"]
        emails = [a.strip() for a in raw.replace(";", ",").split(",") if a.strip()]
        validator = forms.EmailField()
        for email in emails:
            try:
                validator.clean(email)
            except forms.ValidationError:
                raise forms.ValidationError(f"“{email}” is not an email address.") from None
        return ", ".join(emails)
