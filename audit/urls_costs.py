"""URLs of the costs pages (included by audit/urls.py)."""

from __future__ import annotations

from django.urls import path

from audit.views import costs

urlpatterns = [
    path("costs/", costs.costs, name="costs"),
    path("costs/chargeback.csv", costs.chargeback, name="chargeback"),
    path("costs/budgets/", costs.budgets, name="budgets"),
    path("costs/budgets/new/", costs.budget_new, name="budget_new"),
    path("costs/budgets/<int:pk>/edit/", costs.budget_edit, name="budget_edit"),
    path("costs/budgets/stops/<int:pk>/", costs.budget_stop, name="budget_stop"),
    path("costs/budgets/stops/<int:pk>/resume/", costs.budget_stop_resume, name="budget_stop_resume"),
    path("costs/budgets/stops/<int:pk>/end/", costs.budget_stop_end, name="budget_stop_end"),
    path("costs/prices/", costs.prices, name="prices"),
    path("costs/prices/new/", costs.price_new, name="price_new"),
    path("costs/prices/<int:pk>/edit/", costs.price_edit, name="price_edit"),
    path("costs/settings/", costs.settings_page, name="cost_settings"),
]
