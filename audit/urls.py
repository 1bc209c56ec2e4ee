"""The audit app's URLs: one module per feature so each can grow on its own."""

from __future__ import annotations

from audit import urls_costs, urls_ledger, urls_runs

app_name = "audit"

urlpatterns = [*urls_runs.urlpatterns, *urls_ledger.urlpatterns, *urls_costs.urlpatterns]
