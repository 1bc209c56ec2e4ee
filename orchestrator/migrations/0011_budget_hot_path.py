"""Budget holds: one index on the reservation table, HOT updates of usage rows, old functions gone."""

import importlib

import django.db.models.deletion
from django.db import migrations, models

_fewer = importlib.import_module("orchestrator.migrations.0007_budget_functions_fewer_statements")

DROP_OLD = """
DROP FUNCTION IF EXISTS gatehouse_budget_settle(text, bigint, text, text[], jsonb, text, int, int, int, text, text,
  int, int, int, numeric, double precision, boolean, boolean);
DROP FUNCTION IF EXISTS gatehouse_budget_reserve(text, bigint, bigint, text, text[], text, int, int, int, text,
  numeric, double precision);
"""


class Migration(migrations.Migration):
    dependencies = [("orchestrator", "0010_lean_hot_path_indexes")]

    operations = [
        # Reserve and settle are single prepared statements now (orchestrator/budgets.py).
        migrations.RunSQL(DROP_OLD, _fewer.FUNCTIONS),
        # Usage rows are updated twice per LLM call: leave room on each page so those updates are HOT.
        migrations.RunSQL(
            "ALTER TABLE orchestrator_budgetusage SET (fillfactor = 50);",
            "ALTER TABLE orchestrator_budgetusage RESET (fillfactor);",
        ),
        migrations.RemoveIndex(model_name="budgetreservation", name="reservation_expiry"),
        migrations.RemoveField(model_name="budgetreservation", name="id"),
        migrations.AlterField(
            model_name="budgetreservation",
            name="run",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="orchestrator.run",
            ),
        ),
        migrations.AlterField(
            model_name="budgetreservation",
            name="token",
            field=models.CharField(max_length=40, primary_key=True, serialize=False),
        ),
        # Django gives a varchar key a varchar_pattern_ops twin; nothing searches tokens by prefix.
        migrations.RunSQL(
            "DROP INDEX IF EXISTS orchestrator_budgetreservation_token_ea852b10_like;", migrations.RunSQL.noop
        ),
    ]
