"""Tighter guards for the ledger, and the system chain's head kept by the database.

1. Ledger rows: under the erasure procedure (`SET LOCAL gatehouse.erasure = 'on'`) an UPDATE may only
   set `redacted` to true; every hashed or sequenced column stays as written. A DELETE additionally
   needs `SET LOCAL gatehouse.prune = 'on'` (retention, which first keeps each leaf in PrunedLeaf).
2. Seals are never updated or deleted.
3. The system chain's head row follows every system entry insert, guarded on the previous length
   and head, so no writer can fork the chain and `audit verify` can detect removed newest entries.
"""

from django.db import migrations

LEDGER_GUARD = """
CREATE OR REPLACE FUNCTION gatehouse_ledger_guard() RETURNS trigger AS $$
BEGIN
  IF current_setting('gatehouse.erasure', true) = 'on' THEN
    IF TG_OP = 'DELETE' THEN
      IF current_setting('gatehouse.prune', true) = 'on' THEN
        RETURN OLD;
      END IF;
    ELSIF (NEW.gseq, NEW.chain, NEW.run_id, NEW.seq_run, NEW.kind, NEW.step, NEW.actor, NEW.at,
           NEW.payload, NEW.prev, NEW.hash, NEW.xid)
          IS NOT DISTINCT FROM
          (OLD.gseq, OLD.chain, OLD.run_id, OLD.seq_run, OLD.kind, OLD.step, OLD.actor, OLD.at,
           OLD.payload, OLD.prev, OLD.hash, OLD.xid)
          AND NEW.redacted THEN
      RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_ledgerentry: under erasure only "redacted" may be set (% refused)', TG_OP
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RAISE EXCEPTION '% rows are immutable: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'History is append-only. Fork the run or append a new entry instead.';
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS audit_ledgerentry_immutable ON audit_ledgerentry;
CREATE TRIGGER audit_ledgerentry_immutable BEFORE UPDATE OR DELETE ON audit_ledgerentry
  FOR EACH ROW EXECUTE FUNCTION gatehouse_ledger_guard();
"""

LEDGER_GUARD_REVERSE = """
DROP TRIGGER IF EXISTS audit_ledgerentry_immutable ON audit_ledgerentry;
CREATE TRIGGER audit_ledgerentry_immutable BEFORE UPDATE OR DELETE ON audit_ledgerentry
  FOR EACH ROW EXECUTE FUNCTION gatehouse_refuse_change();
DROP FUNCTION IF EXISTS gatehouse_ledger_guard();
"""

SEAL_GUARD = """
CREATE OR REPLACE FUNCTION gatehouse_refuse_always() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION '% rows are immutable: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_seal_immutable BEFORE UPDATE OR DELETE ON audit_seal
  FOR EACH ROW EXECUTE FUNCTION gatehouse_refuse_always();
"""

SEAL_GUARD_REVERSE = """
DROP TRIGGER IF EXISTS audit_seal_immutable ON audit_seal;
DROP FUNCTION IF EXISTS gatehouse_refuse_always();
"""

SYSTEM_HEAD = """
CREATE OR REPLACE FUNCTION gatehouse_system_head() RETURNS trigger AS $$
DECLARE moved int;
BEGIN
  UPDATE audit_systemchainhead SET length = NEW.seq_run, head = NEW.hash
   WHERE id = 1 AND length = NEW.seq_run - 1 AND head = NEW.prev;
  GET DIAGNOSTICS moved = ROW_COUNT;
  IF moved = 0 AND NEW.seq_run = 1 AND NOT EXISTS (SELECT 1 FROM audit_systemchainhead WHERE id = 1) THEN
    INSERT INTO audit_systemchainhead (id, length, head) VALUES (1, 1, NEW.hash);
    moved := 1;
  END IF;
  IF moved = 0 THEN
    RAISE EXCEPTION 'system chain entry % does not extend the chain head', NEW.seq_run
      USING ERRCODE = 'serialization_failure';
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_ledgerentry_system_head AFTER INSERT ON audit_ledgerentry
  FOR EACH ROW WHEN (NEW.chain = 'system') EXECUTE FUNCTION gatehouse_system_head();
INSERT INTO audit_systemchainhead (id, length, head)
  SELECT 1, coalesce(max(seq_run), 0),
         coalesce((SELECT hash FROM audit_ledgerentry WHERE chain = 'system' ORDER BY seq_run DESC LIMIT 1),
                  repeat('0', 64))
  FROM audit_ledgerentry WHERE chain = 'system'
ON CONFLICT (id) DO NOTHING;
"""

SYSTEM_HEAD_REVERSE = """
DROP TRIGGER IF EXISTS audit_ledgerentry_system_head ON audit_ledgerentry;
DROP FUNCTION IF EXISTS gatehouse_system_head();
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_ledger_seals")]

    operations = [
        migrations.RunSQL(LEDGER_GUARD, LEDGER_GUARD_REVERSE),
        migrations.RunSQL(SEAL_GUARD, SEAL_GUARD_REVERSE),
        migrations.RunSQL(SYSTEM_HEAD, SYSTEM_HEAD_REVERSE),
    ]
