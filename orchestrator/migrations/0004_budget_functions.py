"""Budget enforcement as SQL functions: each reserve / settle / release is ONE round trip and one
transaction, so concurrent workers can never overshoot a cap and the per-call overhead stays small.

Deadlock freedom: every function locks budget usage rows in ascending id order (SELECT … ORDER BY id
FOR UPDATE), and creates missing usage rows in ascending budget id order before locking anything.
See orchestrator/budgets.py for the Python side and the reasoning.
"""

from django.db import migrations

# Which budgets apply to a call, and which period row of each (shared by the functions below).
APPLICABLE = """
    b.active AND (b.scope IN ('global', 'run')
                  OR (b.scope = 'workflow' AND b.match = p_workflow)
                  OR (b.scope = 'label' AND b.match = ANY(p_labels)))
"""
PERIOD_START = """
    CASE b.period WHEN 'daily' THEN (now() AT TIME ZONE 'UTC')::date
                  WHEN 'monthly' THEN date_trunc('month', now() AT TIME ZONE 'UTC')::date
                  ELSE DATE '1970-01-01' END
"""
RUN_KEY = "CASE WHEN b.scope = 'run' THEN p_run ELSE 0 END"


def functions_sql(durability: str = "") -> str:
    """The functions' SQL; `durability` is a statement placed first in reserve/settle/release bodies."""
    return f"""
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
  -- first and then does nothing), then read them all again.
  INSERT INTO orchestrator_budgetusage (budget_id, period_start, run_key, spent, reserved, alerted_pct, updated_at)
  SELECT b.id, {PERIOD_START}, {RUN_KEY}, 0, 0, 0, now()
  FROM orchestrator_budget b WHERE {APPLICABLE} ORDER BY b.id
  ON CONFLICT (budget_id, period_start, run_key) DO NOTHING;
  SELECT coalesce(array_agg(u.id ORDER BY u.id), '{{}}') INTO v_ids
  FROM orchestrator_budget b JOIN orchestrator_budgetusage u
    ON u.budget_id = b.id AND u.period_start = {PERIOD_START} AND u.run_key = {RUN_KEY}
  WHERE {APPLICABLE};
  RETURN v_ids;
END $$;

CREATE OR REPLACE FUNCTION gatehouse_budget_reserve(
  p_token text, p_run bigint, p_lease bigint, p_workflow text, p_labels text[], p_node text,
  p_visit int, p_call int, p_attempt int, p_model text, p_amount numeric, p_ttl_seconds double precision)
RETURNS TABLE(o_usage bigint, o_budget text, o_cap numeric, o_spent numeric, o_reserved numeric)
LANGUAGE plpgsql AS $$
DECLARE
  v_ids bigint[];
  r record;
BEGIN
  {durability}
  v_ids := gatehouse_budget_usage_ids(p_run, p_workflow, p_labels);
  -- Lock every applicable usage row in id order and check that the call fits in all of them.
  -- FOR UPDATE returns the latest committed values after waiting, so the check cannot race.
  FOR r IN SELECT u.id, b.name, b.cap, u.spent, u.reserved
           FROM orchestrator_budgetusage u JOIN orchestrator_budget b ON b.id = u.budget_id
           WHERE u.id = ANY(v_ids) ORDER BY u.id FOR UPDATE OF u
  LOOP
    IF r.spent + r.reserved + p_amount > r.cap THEN
      RETURN QUERY SELECT r.id, r.name::text, r.cap, r.spent, r.reserved;
      RETURN;
    END IF;
  END LOOP;
  UPDATE orchestrator_budgetusage u SET reserved = u.reserved + p_amount, updated_at = now()
  WHERE u.id = ANY(v_ids);
  INSERT INTO orchestrator_budgetreservation
    (token, run_id, lease_token, node, visit, call_index, attempt, model, amount, usage_ids, created_at, expires_at)
  VALUES (p_token, p_run, p_lease, p_node, p_visit, p_call, p_attempt, p_model, p_amount, v_ids, now(),
          now() + p_ttl_seconds * interval '1 second');
  RETURN;  -- no row: reserved
END $$;

CREATE OR REPLACE FUNCTION gatehouse_budget_settle(
  p_token text, p_run bigint, p_workflow text, p_labels text[], p_labels_json jsonb, p_node text,
  p_visit int, p_call int, p_attempt int, p_provider text, p_model text, p_input int, p_output int,
  p_cached int, p_cost numeric, p_latency double precision, p_partial boolean, p_unpriced boolean)
RETURNS TABLE(o_node_total numeric, o_alerts bigint[])
LANGUAGE plpgsql AS $$
DECLARE
  v_ids bigint[];
  v_amount numeric := 0;
  v_alerts bigint[];
BEGIN
  {durability}
  DELETE FROM orchestrator_budgetreservation WHERE token = p_token RETURNING usage_ids, amount INTO v_ids, v_amount;
  IF NOT FOUND THEN
    -- Already released (the run was taken for dead or cancelled while this call was in flight):
    -- the provider billed it anyway, so the spend is booked without a reservation to consume.
    v_amount := 0;
    v_ids := gatehouse_budget_usage_ids(p_run, p_workflow, p_labels);
  END IF;
  PERFORM 1 FROM orchestrator_budgetusage WHERE id = ANY(v_ids) ORDER BY id FOR UPDATE;
  UPDATE orchestrator_budgetusage u SET spent = u.spent + p_cost, reserved = u.reserved - v_amount,
         updated_at = now()
  WHERE u.id = ANY(v_ids);
  -- Soft thresholds: claim the highest newly crossed one per usage row (once per period).
  WITH crossed AS (
    SELECT u.id, u.budget_id, b.name, b.cap, u.spent,
           (SELECT max(t.v::int) FROM jsonb_array_elements_text(b.soft_thresholds) AS t(v)
             WHERE t.v::int > u.alerted_pct AND u.spent * 100 >= t.v::numeric * b.cap) AS pct
    FROM orchestrator_budgetusage u JOIN orchestrator_budget b ON b.id = u.budget_id
    WHERE u.id = ANY(v_ids) AND b.cap > 0
  ), claimed AS (
    UPDATE orchestrator_budgetusage u SET alerted_pct = c.pct FROM crossed c
    WHERE u.id = c.id AND c.pct IS NOT NULL
    RETURNING u.id, c.budget_id, c.name, c.cap, c.spent, c.pct
  ), ins AS (
    INSERT INTO orchestrator_costalert
      (kind, budget_id, usage_id, threshold, run_id, node, message, created_at, delivery_error)
    SELECT 'threshold', budget_id, id, pct, p_run, p_node,
           format('Budget "%s" passed %s%% of its cap: $%s of $%s spent.', name, pct,
                  round(spent, 4), round(cap, 2)),
           now(), ''
    FROM claimed
    ON CONFLICT DO NOTHING
    RETURNING id
  )
  SELECT array_agg(id) INTO v_alerts FROM ins;
  INSERT INTO orchestrator_spendevent
    (run_id, workflow, node, visit, call_index, attempt, labels, provider, model, input_tokens, output_tokens,
     cached_tokens, cost, reserved, latency_ms, partial, unpriced, created_at)
  VALUES (p_run, p_workflow, p_node, p_visit, p_call, p_attempt, p_labels_json, p_provider, p_model, p_input,
          p_output, p_cached, p_cost, v_amount, p_latency, p_partial, p_unpriced, now());
  RETURN QUERY SELECT (SELECT coalesce(sum(s.cost), 0) FROM orchestrator_spendevent s
                       WHERE s.run_id = p_run AND s.node = p_node), v_alerts;
END $$;

CREATE OR REPLACE FUNCTION gatehouse_budget_release(p_tokens text[])
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  v_ids bigint[];
  v_amounts numeric[];
  v_count integer;
BEGIN
  {durability}
  WITH d AS (
    DELETE FROM orchestrator_budgetreservation WHERE token = ANY(p_tokens) RETURNING amount, usage_ids
  ), per AS (
    SELECT x.uid, sum(d.amount) AS amount FROM d, unnest(d.usage_ids) AS x(uid) GROUP BY x.uid
  )
  SELECT (SELECT array_agg(uid ORDER BY uid) FROM per), (SELECT array_agg(amount ORDER BY uid) FROM per),
         (SELECT count(*) FROM d)
  INTO v_ids, v_amounts, v_count;
  IF v_ids IS NOT NULL THEN
    PERFORM 1 FROM orchestrator_budgetusage WHERE id = ANY(v_ids) ORDER BY id FOR UPDATE;
    UPDATE orchestrator_budgetusage u SET reserved = u.reserved - s.amount, updated_at = now()
    FROM unnest(v_ids, v_amounts) AS s(uid, amount) WHERE u.id = s.uid;
  END IF;
  RETURN v_count;
END $$;
"""


FUNCTIONS = functions_sql()

DROP = """
DROP FUNCTION IF EXISTS gatehouse_budget_release(text[]);
DROP FUNCTION IF EXISTS gatehouse_budget_settle(text, bigint, text, text[], jsonb, text, int, int, int, text, text,
  int, int, int, numeric, double precision, boolean, boolean);
DROP FUNCTION IF EXISTS gatehouse_budget_reserve(text, bigint, bigint, text, text[], text, int, int, int, text,
  numeric, double precision);
DROP FUNCTION IF EXISTS gatehouse_budget_usage_ids(bigint, text, text[]);
"""


class Migration(migrations.Migration):
    dependencies = [("orchestrator", "0003_costs")]

    operations = [migrations.RunSQL(FUNCTIONS, DROP)]
