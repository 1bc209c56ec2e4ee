"""Checkpoints, journal rows and ledger entries are immutable: the database refuses UPDATE/DELETE.

The only exception is the audited erasure/retention procedure, which sets the transaction-local
setting `gatehouse.erasure = 'on'` (see audit erasure); an attacker with SQL access can of course
disable triggers, which is why the ledger is hash-chained and sealed outside the database.
TRUNCATE is not a row trigger, so test-database flushes still work.
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION gatehouse_refuse_change() RETURNS trigger AS $$
BEGIN
  IF current_setting('gatehouse.erasure', true) = 'on' THEN
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
  END IF;
  RAISE EXCEPTION '% rows are immutable: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'History is append-only. Fork the run or append a new entry instead.';
END;
$$ LANGUAGE plpgsql;
"""

TABLES = ["orchestrator_checkpoint", "orchestrator_journalentry", "audit_ledgerentry"]


def _create(table: str) -> str:
    return (
        f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION gatehouse_refuse_change();"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
        ("orchestrator", "0002_initial"),
    ]

    operations = [
        migrations.RunSQL(FUNCTION, "DROP FUNCTION IF EXISTS gatehouse_refuse_change() CASCADE;"),
        *[
            migrations.RunSQL(_create(table), f"DROP TRIGGER IF EXISTS {table}_immutable ON {table};")
            for table in TABLES
        ],
    ]
