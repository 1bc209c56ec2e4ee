"""Seed the price table from DEFAULT_PRICES, the cost settings row and the default per-run cap."""

from decimal import Decimal

from django.db import migrations

from orchestrator.llm.pricing import DEFAULT_PRICES

DEFAULT_RUN_CAP = Decimal("5.00")


def seed(apps, schema_editor):
    ModelPrice = apps.get_model("orchestrator", "ModelPrice")
    CostSettings = apps.get_model("orchestrator", "CostSettings")
    Budget = apps.get_model("orchestrator", "Budget")
    for p in DEFAULT_PRICES:
        ModelPrice.objects.get_or_create(
            pattern=p.pattern, effective_from=p.effective_from,
            defaults={"input_per_mtok": p.input_per_mtok, "output_per_mtok": p.output_per_mtok,
                      "cached_input_per_mtok": p.cached_input_per_mtok, "note": "seeded list price"},
        )
    CostSettings.objects.get_or_create(pk=1)
    # A runaway loop stops at this cap: every run gets its own usage row of this budget.
    Budget.objects.get_or_create(
        name="Default per-run cap",
        defaults={"scope": "run", "period": "total", "cap": DEFAULT_RUN_CAP, "soft_thresholds": [80]},
    )


class Migration(migrations.Migration):
    dependencies = [("orchestrator", "0004_budget_functions")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
