"""Creating a period's usage rows inserts only the missing ones.

Since runs create their usage rows when they start (orchestrator.budgets.budget_usage_ensure), the
function runs inside run_start's and run_fork's transactions. Its INSERT … ON CONFLICT DO NOTHING
over every applicable budget would wait, on each row that already exists, for any transaction
updating that row (a hold being taken or given back on the global budget, a soft-threshold claim)
— and a fork, holding its parent run's row lock, could deadlock with a threshold claim whose alert
row's FK check needs that run. Skipping the rows that exist leaves only a genuinely missing row
to wait on (another transaction inserting the same one).
"""

import importlib

from django.db import migrations

_base = importlib.import_module("orchestrator.migrations.0004_budget_functions")
APPLICABLE, PERIOD_START, RUN_KEY = _base.APPLICABLE, _base.PERIOD_START, _base.RUN_KEY

USAGE_IDS = f"""
CREATE OR REPLACE FUNCTION gatehouse_budget_usage_ids(p_run bigint, p_workflow text, p_labels text[])
RETURNS bigint[] LANGUAGE plpgsql AS $$
DECLARE
  v_ids bigint[];
  v_complete boolean;
BEGIN
  -- Usually every applicable budget already has this period's usage row: one read, no write.
  SELECT coalesce(array_agg(u.id ORDER BY u.id) FILTER (WHERE u.id IS NOT NULL), '{{}}'),
         coalesce(bool_and(u.id IS NOT NULL), true)
  INTO v_ids, v_complete
  FROM orchestrator_budget b LEFT JOIN orchestrator_budgetusage u
    ON u.budget_id = b.id AND u.period_start = {PERIOD_START} AND u.run_key = {RUN_KEY}
  WHERE {APPLICABLE};
  IF v_complete THEN
    RETURN v_ids;
  END IF;
  -- Create the missing rows (budget id order; a concurrent insert of the same key waits for the
  -- first and then does nothing), then read them all again. Rows that exist are not offered to
  -- the INSERT: its conflict check would wait for whoever is updating them.
  INSERT INTO orchestrator_budgetusage (budget_id, period_start, run_key, spent, reserved, alerted_pct, updated_at)
  SELECT b.id, {PERIOD_START}, {RUN_KEY}, 0, 0, 0, now()
  FROM orchestrator_budget b
  WHERE {APPLICABLE}
    AND NOT EXISTS (SELECT 1 FROM orchestrator_budgetusage u
                    WHERE u.budget_id = b.id AND u.period_start = {PERIOD_START} AND u.run_key = {RUN_KEY})
  ORDER BY b.id
  ON CONFLICT (budget_id, period_start, run_key) DO NOTHING;
  SELECT coalesce(array_agg(u.id ORDER BY u.id), '{{}}') INTO v_ids
  FROM orchestrator_budget b JOIN orchestrator_budgetusage u
    ON u.budget_id = b.id AND u.period_start = {PERIOD_START} AND u.run_key = {RUN_KEY}
  WHERE {APPLICABLE};
  RETURN v_ids;
END $$;
"""

# 0004's function, for going back.
_all = _base.functions_sql()
_at = _all.index("CREATE OR REPLACE FUNCTION gatehouse_budget_usage_ids(")
USAGE_IDS_BEFORE = _all[_at:_all.index("END $$;", _at) + len("END $$;")]


class Migration(migrations.Migration):
    dependencies = [("orchestrator", "0016_release_expired_only")]

    operations = [migrations.RunSQL(USAGE_IDS, USAGE_IDS_BEFORE)]
