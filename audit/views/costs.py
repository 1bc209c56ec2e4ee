"""Cost pages: the spend dashboard and chargeback CSV (engineer, compliance, admin); budgets, budget
stops, prices and cost settings (admin edits; everyone with the costs section may read prices)."""

from __future__ import annotations

from datetime import UTC, datetime

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from audit import charts_costs, selectors_costs
from audit.filenames import download_filename, filename_part
from audit.forms_costs import BudgetForm, CostSettingsForm, EndRunForm, PriceForm, RaiseCapForm
from orchestrator import cost_admin
from orchestrator.budgets import money
from orchestrator.cost_alerts import cost_settings
from orchestrator.http import Request
from orchestrator.models import Budget, ModelPrice
from orchestrator.roles import ADMIN, role_required, section_required, user_has_role, user_may_open
from orchestrator.selectors import run_label_pairs
from orchestrator.services import RunError
from orchestrator.value_errors import has_nul
from review.models import ItemStatus, ReviewItem


# --- dashboard --------------------------------------------------------------------------------------
@section_required("costs")
def costs(request: Request) -> HttpResponse:
    f = selectors_costs.parse_filters(request.GET)
    context = {
        "filters": f, "dimensions": selectors_costs.DIMENSIONS, "label_keys": selectors_costs.label_keys(),
        "alerts": selectors_costs.recent_alerts(), "stops": selectors_costs.budget_stops_count(),
        "is_admin": user_has_role(request.user, ADMIN),
        # Compliance reads spend but not run pages (their state holds the workflow's data; the
        # ledger export is compliance's view of a run): no link that would answer 403.
        "may_open_runs": user_may_open(request.user, "runs"),
        "this_month": datetime.now(UTC).strftime("%Y-%m"),
    }
    if not f.errors:  # a refused range gets no figures: they would answer another question
        budgets = selectors_costs.budget_rows()
        spend = selectors_costs.spend_summary(f)
        context.update({
            "totals": spend.totals, "top_runs": spend.top_runs,
            "spend_chart": charts_costs.spend_over_time_html(spend.by_day, since=f.since, until=f.until),
            "tokens_chart": charts_costs.tokens_html(spend.tokens),
            "budget_chart": charts_costs.budget_utilization_html(budgets),
        })
    if request.htmx:
        # 200 even with an error: htmx swaps in only 2xx answers, and the fragment carries the error.
        return render(request, "audit/_costs_body.html", context)
    return render(request, "audit/costs.html", context, status=400 if f.errors else 200)


@section_required("costs")
def chargeback(request: Request) -> HttpResponse:
    month = request.GET.get("month") or datetime.now(UTC).strftime("%Y-%m")
    label_key = (request.GET.get("label_key") or "").strip()
    try:
        selectors_costs.month_bounds(month)
    except ValueError:
        return HttpResponse(f"month must look like 2025-01, not {month!r}.\n", status=400,
                            content_type="text/plain")
    if not label_key:
        return HttpResponse("Name the label to charge back by, e.g. ?label_key=department&month=2025-01.\n",
                            status=400, content_type="text/plain")
    if has_nul(label_key):  # PostgreSQL refuses a NUL in a query (a 500); no label key holds one
        return HttpResponse("label_key may not contain the NUL character (%00): name a label key, e.g. "
                            "?label_key=department&month=2025-01.\n", status=400, content_type="text/plain")
    response = HttpResponse(selectors_costs.chargeback_csv(month=month, label_key=label_key),
                            content_type="text/csv; charset=utf-8")
    name = download_filename("chargeback", [filename_part(month, "month"), filename_part(label_key, "label")], "csv")
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


# --- budgets ------------------------------------------------------------------------------------------
@role_required(ADMIN)
def budgets(request: Request) -> HttpResponse:
    context = {"rows": selectors_costs.budget_rows(), "stops": selectors_costs.budget_stops()}
    if request.htmx:
        return render(request, "audit/_budget_rows.html", context)
    return render(request, "audit/budgets.html", context)


def _budget_form_page(request: Request, *, budget: Budget | None) -> HttpResponse:
    if request.method == "POST":
        form = BudgetForm(request.POST, budget=budget)
        if form.is_valid():
            try:
                if budget is None:
                    saved = cost_admin.budget_create(data=form.to_input(), actor=request.user)
                else:
                    saved = cost_admin.budget_update(budget=budget, data=form.to_input(), actor=request.user,
                                                     version=form.cleaned_data["version"])
            except cost_admin.BudgetChangedMeanwhile as exc:
                return _budget_changed_meanwhile(request, form, exc)
            except cost_admin.CostAdminError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Budget “{saved.name}” saved: cap {money(saved.cap)}.")
                if warning := cost_admin.budget_scope_warning(scope=saved.scope, match=saved.match):
                    messages.warning(request, warning)
                return redirect("audit:budgets")
    else:
        initial = BudgetForm.initial_for(budget) if budget else {"period": "monthly", "active": True}
        form = BudgetForm(initial=initial, budget=budget)
    return render(request, "audit/budget_form.html", {"form": form, "budget": budget,
                                                      "label_suggestions": run_label_pairs()})


def _budget_changed_meanwhile(request: Request, form: BudgetForm, exc: cost_admin.BudgetChangedMeanwhile
                              ) -> HttpResponse:
    """The form back as this admin typed it, saying whose change it would overwrite; it now carries the
    budget's current version, so saving it again overwrites that change on purpose."""
    data = request.POST.copy()
    data["version"] = str(exc.budget.version)
    form = BudgetForm(data, budget=exc.budget)
    form.is_valid()
    form.add_error(None, str(exc))
    return render(request, "audit/budget_form.html", {"form": form, "budget": exc.budget,
                                                      "label_suggestions": run_label_pairs()}, status=409)


@role_required(ADMIN)
def budget_new(request: Request) -> HttpResponse:
    return _budget_form_page(request, budget=None)


@role_required(ADMIN)
def budget_edit(request: Request, pk: int) -> HttpResponse:
    return _budget_form_page(request, budget=get_object_or_404(Budget, pk=pk))


def _stop(pk: int) -> ReviewItem:
    return get_object_or_404(ReviewItem.objects.select_related("run", "decided_by"), pk=pk, kind="budget_exceeded")


@role_required(ADMIN)
def budget_stop(request: Request, pk: int) -> HttpResponse:
    item = _stop(pk)
    return _stop_page(request, item, RaiseCapForm(), EndRunForm())


def _stop_page(request: Request, item: ReviewItem, raise_form: RaiseCapForm, end_form: EndRunForm,
               status: int = 200) -> HttpResponse:
    facts = cost_admin.budget_item_facts(item)
    budget = cost_admin.budget_item_budget(facts)
    needed = cost_admin.budget_item_needed(facts)
    return render(request, "audit/budget_stop.html", {
        "item": item, "facts": facts, "budget": budget, "raise_form": raise_form, "end_form": end_form,
        "needed": money(needed), "current": money(budget.cap) if budget else "",
        # The cards show the stop as it was; a cap changed since (raised elsewhere) is shown beside
        # them, with whether the stopped call now fits, so the two figures never read as one.
        "cap_now": cost_admin.budget_item_cap_now(facts, budget),
        "fits_now": cost_admin.budget_item_fits(facts, budget),
        "pending": item.status == ItemStatus.PENDING,
    }, status=status)


@require_POST
@role_required(ADMIN)
def budget_stop_resume(request: Request, pk: int) -> HttpResponse:
    item = _stop(pk)
    form = RaiseCapForm(request.POST)
    if not form.is_valid():
        return _stop_page(request, item, form, EndRunForm(), status=400)
    try:
        cost_admin.budget_item_resume(item=item, cap=form.cleaned_data["cap"], actor=request.user)
    except cost_admin.CostAdminError as exc:
        form.add_error("cap" if "cap" in exc.field_errors else None, exc.field_errors.get("cap", str(exc)))
        return _stop_page(request, item, form, EndRunForm(), status=400)
    except RunError as exc:
        messages.error(request, str(exc))
        return redirect("audit:budget_stop", pk=item.pk)
    cap = form.cleaned_data["cap"]
    raised = f"Cap raised to {money(cap)}; run" if cap is not None else "Cap unchanged; run"
    messages.success(request, f"{raised} {item.run.thread_id} resumed.")
    return redirect("audit:budgets")


@require_POST
@role_required(ADMIN)
def budget_stop_end(request: Request, pk: int) -> HttpResponse:
    item = _stop(pk)
    form = EndRunForm(request.POST)
    if not form.is_valid():
        return _stop_page(request, item, RaiseCapForm(), form, status=400)
    try:
        cost_admin.budget_item_end(item=item, reason=form.cleaned_data["reason"], actor=request.user)
    except RunError as exc:
        messages.error(request, str(exc))
        return redirect("audit:budget_stop", pk=item.pk)
    messages.success(request, f"Run {item.run.thread_id} ended (rejected).")
    return redirect("audit:budgets")


# --- prices and settings -------------------------------------------------------------------------------
@section_required("costs")
def prices(request: Request) -> HttpResponse:
    rows = list(ModelPrice.objects.select_related("updated_by").order_by("pattern", "-effective_from"))
    today, current = datetime.now(UTC).date(), set()
    for row in rows:  # newest first per pattern: the first row already in force is the one used
        if row.effective_from > today:
            row.state = "scheduled"
        elif row.pattern not in current:
            row.state = "in force"
            current.add(row.pattern)
        else:
            row.state = "superseded"
    return render(request, "audit/prices.html", {
        "prices": rows, "settings": cost_settings(), "is_admin": user_has_role(request.user, ADMIN),
    })


def _price_form_page(request: Request, *, price: ModelPrice | None) -> HttpResponse:
    if request.method == "POST":
        form = PriceForm(request.POST)
        if form.is_valid():
            try:
                saved = cost_admin.price_save(data=form.to_input(), actor=request.user, price=price)
            except cost_admin.CostAdminError as exc:
                for field, message in exc.field_errors.items():
                    form.add_error(field if field in form.fields else None, message)
            else:
                messages.success(request, f"Price for {saved.pattern} from {saved.effective_from} saved.")
                return redirect("audit:prices")
    else:
        form = PriceForm(initial=PriceForm.initial_for(price) if price else {})
    return render(request, "audit/price_form.html", {"form": form, "price": price})


@role_required(ADMIN)
def price_new(request: Request) -> HttpResponse:
    return _price_form_page(request, price=None)


@role_required(ADMIN)
def price_edit(request: Request, pk: int) -> HttpResponse:
    return _price_form_page(request, price=get_object_or_404(ModelPrice, pk=pk))


@role_required(ADMIN)
def settings_page(request: Request) -> HttpResponse:
    conf = cost_settings()
    if request.method == "POST":
        form = CostSettingsForm(request.POST)
        if form.is_valid():
            cost_admin.cost_settings_update(actor=request.user, **form.cleaned_data)
            messages.success(request, "Cost settings saved.")
            return redirect("audit:cost_settings")
    else:
        form = CostSettingsForm(initial={f: getattr(conf, f) for f in CostSettingsForm.base_fields})
    return render(request, "audit/prices_settings.html", {"form": form})
