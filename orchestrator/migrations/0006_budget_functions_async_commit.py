"""Budget functions commit without waiting for the WAL flush (synchronous_commit = off, for their
own transaction only).

Why it is safe: a durable commit costs a disk flush (~1–3 ms here), ten times the rest of the work.
Atomicity is unchanged — a reservation or settlement is lost whole or kept whole — and only a
PostgreSQL crash within the WAL writer's delay (~200 ms) can lose one:
  * a lost reservation: the call then settles "late" (books its spend without a hold), as after a
    release; the cap check for that one call is what is lost;
  * a lost settlement: the journal row written next is committed durably, which flushes the WAL up
    to and including the settlement — so a settlement is durable once its call is journaled.
"""

import importlib

from django.db import migrations

_base = importlib.import_module("orchestrator.migrations.0004_budget_functions")

ASYNC = "PERFORM set_config('synchronous_commit', 'off', true);"


class Migration(migrations.Migration):
    dependencies = [("orchestrator", "0005_seed_costs")]

    operations = [migrations.RunSQL(_base.functions_sql(ASYNC), _base.functions_sql())]
