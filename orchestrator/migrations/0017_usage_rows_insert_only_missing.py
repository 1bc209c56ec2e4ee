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

# 0004's function, for going back.
_all = _base.functions_sql()
_at = _all.index("CREATE OR REPLACE FUNCTION gatehouse_budget_usage_ids(")
USAGE_IDS_BEFORE = _all[_at:_all.index("END $$;", _at) + len("END $$;")]

# The same function, whose INSERT offers only the rows that do not exist yet.
USAGE_IDS = USAGE_IDS_BEFORE.replace(
    "  -- first and then does nothing), then read them all again.\n",
    "  -- first and then does nothing), then read them all again. Rows that exist are not offered to\n"
    "  -- the INSERT: its conflict check would wait for whoever is updating them.\n",
).replace(
    f"  FROM orchestrator_budget b WHERE {APPLICABLE} ORDER BY b.id\n",
    "  FROM orchestrator_budget b\n"
    f"  WHERE {APPLICABLE}\n"
    "    AND NOT EXISTS (SELECT 1 FROM orchestrator_budgetusage u\n"
    f"                    WHERE u.budget_id = b.id AND u.period_start = {PERIOD_START} AND u.run_key = {RUN_KEY})\n"
    "  ORDER BY b.id\n",
)
assert USAGE_IDS.count("NOT EXISTS") == 1 and "not offered" in USAGE_IDS


class Migration(migrations.Migration):
    dependencies = [("orchestrator", "0016_release_expired_only")]

    operations = [migrations.RunSQL(USAGE_IDS, USAGE_IDS_BEFORE)]
