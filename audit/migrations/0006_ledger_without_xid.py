"""Drop the ledger's `xid` column and its index: sealing finds its range by gseq and waits out
older transactions by snapshot (audit/sealing.py), so nothing read them, and every step commit paid
for filling and indexing them. The erasure guard compares every other column as before."""

import importlib

from django.db import migrations

_guards = importlib.import_module("audit.migrations.0004_ledger_triggers")
GUARD_WITHOUT_XID = _guards.LEDGER_GUARD.replace(", NEW.xid)", ")").replace(", OLD.xid)", ")")
assert "xid" not in GUARD_WITHOUT_XID


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_lean_hot_path_indexes")]

    operations = [
        # The guard names every column; it must stop naming xid before the column goes.
        migrations.RunSQL(GUARD_WITHOUT_XID, _guards.LEDGER_GUARD),
        migrations.RemoveIndex(model_name="ledgerentry", name="ledger_xid"),
        migrations.RemoveField(model_name="ledgerentry", name="xid"),
    ]
