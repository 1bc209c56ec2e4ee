"""Budget hold release: `gatehouse_budget_release(tokens, expired_only)`; `draw_until` goes.

The reconciler releases a hold only once it has expired — its expiry is pushed past the end of its
draw window by the longest a call can take, so no call of a worker that lost its run can still be
drawn or in flight on it — and re-checks that inside the DELETE: a settlement that pushed the
expiry on between the reconciler's scan and its DELETE keeps the hold.
"""

import importlib

from django.db import migrations

_before = importlib.import_module("orchestrator.migrations.0015_hold_draw_window")

RELEASE = (
    _before.RELEASE
    .replace("CREATE OR REPLACE FUNCTION gatehouse_budget_release(p_tokens text[])",
             "CREATE OR REPLACE FUNCTION gatehouse_budget_release(p_tokens text[], p_expired_only boolean)")
    .replace("WHERE token = ANY(p_tokens) ORDER BY token FOR UPDATE)",
             "WHERE token = ANY(p_tokens) ORDER BY token FOR UPDATE)\n"
             "      AND (NOT p_expired_only OR expires_at < statement_timestamp())")
)
assert RELEASE.count("p_expired_only") == 2

FORWARD = "DROP FUNCTION IF EXISTS gatehouse_budget_release(text[]);\n" + RELEASE
BACKWARD = "DROP FUNCTION IF EXISTS gatehouse_budget_release(text[], boolean);\n" + _before.RELEASE


class Migration(migrations.Migration):
    dependencies = [("orchestrator", "0015_hold_draw_window")]

    operations = [
        migrations.RunSQL(FORWARD, BACKWARD),
        # The reconciler waits for the expiry, which settlements push past the draw window.
        migrations.RemoveField(model_name="budgetreservation", name="draw_until"),
    ]
