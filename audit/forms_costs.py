"""Forms for the budget, price and cost-settings pages: they parse and type the input; the rules
(what a label must look like, per-run caps are all-time…) live in orchestrator.cost_admin."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from orchestrator.budgets import amount_input
from orchestrator.cost_admin import BudgetInput, CostAdminError, PriceInput
from orchestrator.models import Budget, BudgetPeriod, BudgetScope
from orchestrator.registry import workflows

_MONEY = {"max_digits": 18, "decimal_places": 6, "min_value": Decimal(0)}


class BudgetForm(forms.Form):
    name = forms.CharField(max_length=120)
    scope = forms.ChoiceField(choices=BudgetScope.choices)
    # One field per kind of scope: a workflow is picked from those registered rather than typed (a
    # typo would save a budget that guards nothing), a label is typed with the labels in use
    # suggested. The page shows only the field the chosen scope needs (costs.css). The workflow is
    # not a ChoiceField: cost_admin refuses an unknown one with the names it knows, for every caller.
    workflow = forms.CharField(required=False, label="Workflow", widget=forms.Select,
                               help_text="For “One workflow”: the workflows registered in this deployment.")
    label = forms.CharField(max_length=300, required=False, label="Label (key=value)",
                            widget=forms.TextInput(attrs={"list": "label-suggestions",
                                                          "placeholder": "department=legal"}),
                            help_text="For “A run label”: labels on recent runs are suggested as you type.")
    period = forms.ChoiceField(choices=BudgetPeriod.choices)
    cap = forms.DecimalField(label="Hard cap (USD)", **_MONEY)
    soft_thresholds = forms.CharField(required=False, label="Soft thresholds (% of cap)",
                                      help_text="Comma-separated, e.g. 50, 80: alert once per period at each.")
    active = forms.BooleanField(required=False, initial=True)
    # The budget's version the form was opened on: a save over any other is refused (cost_admin).
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, budget: Budget | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.budget = budget
        if budget is None:
            del self.fields["version"]
        names = sorted(workflows())
        choices = [("", "— choose a workflow —"), *((name, name) for name in names)]
        if budget is not None and budget.scope == "workflow" and budget.match not in names:
            choices.append((budget.match, f"{budget.match} (no longer registered)"))
        self.fields["workflow"].widget.choices = choices

    def clean_soft_thresholds(self) -> list[int]:
        raw = self.cleaned_data["soft_thresholds"].replace("%", "")
        try:
            return sorted({int(part) for part in raw.replace(";", ",").split(",") if part.strip()})
        except ValueError:
            raise forms.ValidationError("Write whole percentages separated by commas, e.g. 50, 80.") from None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.budget is not None and cleaned.get("version") is None:
            # A form from before versions were kept, or one built by hand: which save it would overwrite is unknown.
            self.add_error(None, "Reload the page and make your change again: this form does not say which "
                                 "version of the budget it was opened on, so it could overwrite someone else's "
                                 "change unseen. Nothing was saved.")
        return cleaned

    def _match_field(self) -> str | None:
        return {"workflow": "workflow", "label": "label"}.get(self.cleaned_data.get("scope", ""))

    def to_input(self) -> BudgetInput:
        d = self.cleaned_data
        match_field = self._match_field()
        return BudgetInput(name=d["name"].strip(), scope=d["scope"], match=d[match_field] if match_field else "",
                           period=d["period"], cap=d["cap"], soft_thresholds=d["soft_thresholds"],
                           active=d["active"])

    def add_service_errors(self, exc: CostAdminError) -> None:
        """Show cost_admin's refusal on the fields it is about (its `match` is this form's
        workflow or label field, whichever the scope uses)."""
        for field, message in exc.field_errors.items():
            field = self._match_field() if field == "match" else field
            self.add_error(field if field in self.fields else None, message)
        if not exc.field_errors:
            self.add_error(None, str(exc))

    @classmethod
    def initial_for(cls, budget: Budget) -> dict:
        return {"name": budget.name, "scope": budget.scope, "period": budget.period, "cap": amount_input(budget.cap),
                "workflow": budget.match if budget.scope == "workflow" else "",
                "label": budget.match if budget.scope == "label" else "",
                "soft_thresholds": ", ".join(str(t) for t in budget.soft_thresholds), "active": budget.active,
                "version": budget.version}


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
        values = {f: getattr(price, f) for f in cls.base_fields}
        return {f: amount_input(v) if isinstance(v, Decimal) else v for f, v in values.items()}


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
