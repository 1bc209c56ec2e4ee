"""The system chain's head row is advanced by audit.services.system_ledger_append, not by a trigger.

An AFTER INSERT trigger on the ledger table runs trigger bookkeeping on every insert, and every step
commit inserts a ledger entry: about 0.02 ms per step for entries that steps never write.
"""

import importlib

from django.db import migrations

_triggers = importlib.import_module("audit.migrations.0004_ledger_triggers")


class Migration(migrations.Migration):
    dependencies = [("audit", "0006_ledger_without_xid")]

    operations = [migrations.RunSQL(_triggers.SYSTEM_HEAD_REVERSE, _triggers.SYSTEM_HEAD)]
