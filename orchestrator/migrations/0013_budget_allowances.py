"""Budget holds become allowances: one hold is drawn down by several calls of a job.

`used` is what the hold's settled calls cost (booked into the budgets when the hold is closed or
released); `revoked` is set when a budget changes, so a job stops drawing on a hold granted under
the old caps. Releasing a hold (reconciler, cancel) now books its `used` as spent.
"""

import importlib
from decimal import Decimal

from django.db import migrations, models

RELEASE = """
CREATE OR REPLACE FUNCTION gatehouse_budget_release(p_tokens text[])
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  v_ids bigint[];
  v_amounts numeric[];
  v_used numeric[];
  v_count integer;
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  -- A call settling on one of these holds right now holds its row lock: the DELETE waits for it
  -- and then returns the row's newest `used`, so the settled cost is booked exactly once.
  WITH d AS (
    DELETE FROM orchestrator_budgetreservation WHERE token = ANY(p_tokens) RETURNING amount, used, usage_ids
  ), per AS (
    SELECT x.uid, sum(d.amount) AS amount, sum(d.used) AS used FROM d, unnest(d.usage_ids) AS x(uid) GROUP BY x.uid
  )
  SELECT (SELECT array_agg(uid ORDER BY uid) FROM per), (SELECT array_agg(amount ORDER BY uid) FROM per),
         (SELECT array_agg(used ORDER BY uid) FROM per), (SELECT count(*) FROM d)
  INTO v_ids, v_amounts, v_used, v_count;
  IF v_ids IS NOT NULL THEN
    PERFORM 1 FROM orchestrator_budgetusage WHERE id = ANY(v_ids) ORDER BY id FOR UPDATE;
    UPDATE orchestrator_budgetusage u
       SET reserved = u.reserved - s.amount, spent = u.spent + s.used, updated_at = now()
    FROM unnest(v_ids, v_amounts, v_used) AS s(uid, amount, used) WHERE u.id = s.uid;
  END IF;
  RETURN v_count;
END $$;
"""

# 0004's function (with 0006's asynchronous commit), for going back.
_base = importlib.import_module("orchestrator.migrations.0004_budget_functions")
_async = importlib.import_module("orchestrator.migrations.0006_budget_functions_async_commit")
_all = _base.functions_sql(_async.ASYNC)
_at = _all.index("CREATE OR REPLACE FUNCTION gatehouse_budget_release(")
RELEASE_BEFORE = _all[_at:_all.index("END $$;", _at) + len("END $$;")]


class Migration(migrations.Migration):
    dependencies = [("orchestrator", "0012_thread_id_not_system")]

    operations = [
        migrations.AddField(
            model_name="budgetreservation",
            name="used",
            field=models.DecimalField(decimal_places=6, default=Decimal("0"), max_digits=18),
        ),
        migrations.AddField(
            model_name="budgetreservation",
            name="revoked",
            field=models.BooleanField(default=False),
        ),
        migrations.RunSQL(RELEASE, RELEASE_BEFORE),
    ]
