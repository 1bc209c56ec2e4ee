"""Budget holds: `draw_until`, the end of the window in which their job may still draw on them
without asking the database; and releases that lock holds in token order (as revocation does), so
the two cannot deadlock.

The reconciler releases the hold of a run that is no longer running under the hold's lease token
only once that window has passed: until then a worker that does not know yet that it lost the run
may still draw on it, and its call must find the hold in place.
"""

import importlib

from django.db import migrations, models

_before = importlib.import_module("orchestrator.migrations.0013_budget_allowances")

RELEASE = _before.RELEASE.replace(
    "DELETE FROM orchestrator_budgetreservation WHERE token = ANY(p_tokens) RETURNING amount, used, usage_ids",
    "DELETE FROM orchestrator_budgetreservation WHERE token IN (\n"
    "      SELECT token FROM orchestrator_budgetreservation WHERE token = ANY(p_tokens) ORDER BY token FOR UPDATE)\n"
    "    RETURNING amount, used, usage_ids",
)
assert RELEASE != _before.RELEASE


class Migration(migrations.Migration):
    dependencies = [("orchestrator", "0014_lean_spend_events")]

    operations = [
        migrations.AddField(
            model_name="budgetreservation",
            name="draw_until",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunSQL(RELEASE, _before.RELEASE),
    ]
