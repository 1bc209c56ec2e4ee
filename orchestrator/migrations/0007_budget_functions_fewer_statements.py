"""Reserve and settle in fewer statements (same semantics as 0004 + 0006; ~half the server work).

reserve: one query finds AND locks the applicable usage rows in id order (creating missing rows
first only when some are missing), then one statement adds the hold and inserts the reservation.
settle: the threshold check piggybacks on the spend UPDATE's RETURNING (the alert statement runs
only when a threshold was actually crossed), and the spend row insert also returns the node total.
"""

import importlib

from django.db import migrations

_base = importlib.import_module("orchestrator.migrations.0004_budget_functions")
_async = importlib.import_module("orchestrator.migrations.0006_budget_functions_async_commit")
APPLICABLE, PERIOD_START, RUN_KEY = _base.APPLICABLE, _base.PERIOD_START, _base.RUN_KEY

FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION gatehouse_budget_reserve(
  p_token text, p_run bigint, p_lease bigint, p_workflow text, p_labels text[], p_node text,
  p_visit int, p_call int, p_attempt int, p_model text, p_amount numeric, p_ttl_seconds double precision)
RETURNS TABLE(o_usage bigint, o_budget text, o_cap numeric, o_spent numeric, o_reserved numeric)
LANGUAGE plpgsql AS $$
DECLARE
  v_ids bigint[] := '{{}}';
  v_wanted int;
  v_blocked record;
  r record;
BEGIN
  SET LOCAL synchronous_commit = off;  -- see migration 0006 for why this is safe
  FOR attempt IN 1..2 LOOP
    v_ids := '{{}}';
    v_blocked := NULL;
    -- Lock every applicable usage row in id order; FOR UPDATE sees the latest committed values.
    FOR r IN SELECT u.id, b.name, b.cap, u.spent, u.reserved,
                    (SELECT count(*) FROM orchestrator_budget b WHERE {APPLICABLE}) AS wanted
             FROM orchestrator_budget b JOIN orchestrator_budgetusage u
               ON u.budget_id = b.id AND u.period_start = {PERIOD_START} AND u.run_key = {RUN_KEY}
             WHERE {APPLICABLE}
             ORDER BY u.id FOR UPDATE OF u
    LOOP
      v_wanted := r.wanted;
      v_ids := v_ids || r.id;
      IF v_blocked IS NULL AND r.spent + r.reserved + p_amount > r.cap THEN
        v_blocked := r;
      END IF;
    END LOOP;
    IF v_wanted IS NULL THEN
      SELECT count(*) INTO v_wanted FROM orchestrator_budget b WHERE {APPLICABLE};
    END IF;
    EXIT WHEN cardinality(v_ids) >= v_wanted OR attempt = 2;
    -- Some period rows are missing (a new budget, day or month): create them, then lock again.
    -- (No usage row is locked by this transaction yet when we get here with nothing found; rows
    -- found and locked stay locked, and the insert only creates rows no one else holds.)
    PERFORM gatehouse_budget_usage_ids(p_run, p_workflow, p_labels);
  END LOOP;
  IF v_blocked IS NOT NULL THEN
    RETURN QUERY SELECT v_blocked.id, v_blocked.name::text, v_blocked.cap, v_blocked.spent, v_blocked.reserved;
    RETURN;
  END IF;
  WITH held AS (
    UPDATE orchestrator_budgetusage u SET reserved = u.reserved + p_amount, updated_at = now()
    WHERE u.id = ANY(v_ids) RETURNING 1
  )
  INSERT INTO orchestrator_budgetreservation
    (token, run_id, lease_token, node, visit, call_index, attempt, model, amount, usage_ids, created_at, expires_at)
  SELECT p_token, p_run, p_lease, p_node, p_visit, p_call, p_attempt, p_model, p_amount, v_ids, now(),
         now() + p_ttl_seconds * interval '1 second'
  FROM (SELECT count(*) FROM held) AS done;
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
  v_crossed boolean;
  v_total numeric;
BEGIN
  SET LOCAL synchronous_commit = off;
  DELETE FROM orchestrator_budgetreservation WHERE token = p_token RETURNING usage_ids, amount INTO v_ids, v_amount;
  IF NOT FOUND THEN
    -- Already released (the run was taken for dead or cancelled while this call was in flight):
    -- the provider billed it anyway, so the spend is booked without a hold to consume.
    v_amount := 0;
    v_ids := gatehouse_budget_usage_ids(p_run, p_workflow, p_labels);
  END IF;
  IF cardinality(v_ids) > 0 THEN
    PERFORM 1 FROM orchestrator_budgetusage WHERE id = ANY(v_ids) ORDER BY id FOR UPDATE;
    WITH upd AS (
      UPDATE orchestrator_budgetusage u SET spent = u.spent + p_cost, reserved = u.reserved - v_amount,
             updated_at = now()
      FROM orchestrator_budget b
      WHERE u.id = ANY(v_ids) AND b.id = u.budget_id
      RETURNING u.spent, u.alerted_pct, b.cap, b.soft_thresholds
    )
    SELECT coalesce(bool_or(EXISTS (
             SELECT 1 FROM jsonb_array_elements_text(upd.soft_thresholds) AS t(v)
             WHERE upd.cap > 0 AND t.v::int > upd.alerted_pct AND upd.spent * 100 >= t.v::numeric * upd.cap)), false)
    INTO v_crossed FROM upd;
    IF v_crossed THEN
      -- Claim the highest newly crossed threshold per usage row (once per period) and record it.
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
    END IF;
  END IF;
  WITH ins AS (
    INSERT INTO orchestrator_spendevent
      (run_id, workflow, node, visit, call_index, attempt, labels, provider, model, input_tokens, output_tokens,
       cached_tokens, cost, reserved, latency_ms, partial, unpriced, created_at)
    VALUES (p_run, p_workflow, p_node, p_visit, p_call, p_attempt, p_labels_json, p_provider, p_model, p_input,
            p_output, p_cached, p_cost, v_amount, p_latency, p_partial, p_unpriced, now())
    RETURNING cost
  )
  -- The new row is not visible to this statement's sum: add it.
  SELECT (SELECT coalesce(sum(s.cost), 0) FROM orchestrator_spendevent s
          WHERE s.run_id = p_run AND s.node = p_node) + (SELECT cost FROM ins)
  INTO v_total;
  RETURN QUERY SELECT v_total, v_alerts;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [("orchestrator", "0006_budget_functions_async_commit")]

    operations = [migrations.RunSQL(FUNCTIONS, _base.functions_sql(_async.ASYNC))]
