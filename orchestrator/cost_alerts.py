"""Cost alerts: soft budget thresholds (claimed in SQL at settlement, once per period) and anomalous
node spend (a node whose spend in one run passes k × its rolling p95 over the workflow's recent
runs), recorded once in the ledger's system chain and sent by e-mail and webhook, each channel with
its own state and retries (orchestrator.deliveries).

Alerts go to the "system" chain rather than the run's own chain: they are raised while a worker
holds the run mid-node, and the run's chain may only be advanced by that worker's step commit.
The entry names the run (thread id) and node, so the audit trail still ties it to the run.
"""

from __future__ import annotations

import logging
import time
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from audit.services import system_ledger_append
from orchestrator.budgets import THRESHOLD_PASSED, money
from orchestrator.deliveries import Event, deliveries_queue, deliveries_send
from orchestrator.llm.pricing import MICRO_DOLLAR
from orchestrator.models import CostAlert, CostSettings, Run

log = logging.getLogger("gatehouse.costs")
SYSTEM_CHAIN = "system"
SOURCE = "cost_alert"  # the notification outbox's name for what these alerts' deliveries are about
_p95_cache: dict[tuple[str, str], tuple[float, Decimal | None]] = {}


def cost_settings() -> CostSettings:
    return CostSettings.objects.filter(pk=1).first() or CostSettings(pk=1)


_settings_cache: tuple[float, CostSettings] | None = None


def _cached_settings() -> CostSettings:
    """The hot path (every settled call) reads the settings at most every few seconds per process."""
    global _settings_cache
    if _settings_cache is None or time.monotonic() - _settings_cache[0] > 5.0:
        _settings_cache = (time.monotonic(), cost_settings())
    return _settings_cache[1]


# --- soft thresholds ------------------------------------------------------------------------------------
# Settlement (orchestrator.budgets) reports which usage rows passed a soft threshold; this claims the
# highest newly passed threshold per row (a guarded UPDATE: once per period, whoever gets there first)
# and records the alert. Rows are locked in id order first, like every other budget writer.


def _money(column: str) -> str:
    """SQL for orchestrator.budgets.money() without its "$": cents, or every digit down to a millionth.
    Rounded to cents, a $0.001 cap read "of $0.00"."""
    return f"round({column}, greatest(2, scale(trim_scale(round({column}, 6)))))"


_THRESHOLDS_CLAIM = f"""
WITH locked AS (
  SELECT id FROM orchestrator_budgetusage WHERE id = ANY(%(ids)s) ORDER BY id FOR UPDATE
), crossed AS (
  SELECT u.id, u.budget_id, b.name, b.cap, u.spent,
         (SELECT max(t.v::int) FROM jsonb_array_elements_text(b.soft_thresholds) AS t(v)
           WHERE {THRESHOLD_PASSED.format(usage="u", cap="b.cap")}) AS pct
  FROM orchestrator_budgetusage u JOIN orchestrator_budget b ON b.id = u.budget_id
  WHERE u.id = ANY((SELECT array_agg(id) FROM locked)::bigint[]) AND b.cap > 0
), claimed AS (
  UPDATE orchestrator_budgetusage u SET alerted_pct = c.pct FROM crossed c
  WHERE u.id = c.id AND c.pct IS NOT NULL AND u.alerted_pct < c.pct
  RETURNING u.id, c.budget_id, c.name, c.cap, c.spent, c.pct
), ins AS (
  INSERT INTO orchestrator_costalert
    (kind, budget_id, usage_id, threshold, run_id, node, message, created_at, delivery_error)
  SELECT 'threshold', budget_id, id, pct, %(run)s, %(node)s,
         'Budget "' || name || '" passed ' || pct || '%% of its cap: $' || {_money("spent")}
           || ' of $' || {_money("cap")} || ' spent.',
         statement_timestamp(), ''
  FROM claimed
  ON CONFLICT DO NOTHING
  RETURNING id
)
SELECT coalesce(array_agg(id), '{{}}') FROM ins
"""


def thresholds_claim(*, usage_ids: list[int], run_id: int, node: str) -> list[int]:
    """Claim newly passed soft thresholds on these usage rows; returns the new alerts' ids."""
    with connection.cursor() as cursor:
        cursor.execute(_THRESHOLDS_CLAIM, {"ids": list(usage_ids), "run": run_id, "node": node})
        return list(cursor.fetchone()[0])


def thresholds_alert(*, usage_ids: list[int], run_id: int, node: str) -> None:
    """Claim newly passed soft thresholds on these usage rows and deliver the alerts at once."""
    alert_ids = thresholds_claim(usage_ids=usage_ids, run_id=run_id, node=node)
    if alert_ids:
        alerts_deliver(ids=alert_ids)


# --- anomalous spend ------------------------------------------------------------------------------------
_P95 = """
SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY total), count(*) FROM (
  SELECT run_id, sum(cost) AS total FROM orchestrator_spendevent
  WHERE workflow = %s AND node = %s AND run_id <> %s
  GROUP BY run_id ORDER BY max(id) DESC LIMIT %s
) recent
"""


def node_p95(*, workflow: str, node: str, exclude_run: int, window: int, min_runs: int) -> Decimal | None:
    """The node's p95 spend per run over the workflow's last `window` runs, cached per process for
    GATEHOUSE_ANOMALY_CACHE_SECONDS (default 60): the norm moves slowly, the check runs on every call."""
    key = (workflow, node)
    cached = _p95_cache.get(key)
    ttl = getattr(settings, "GATEHOUSE_ANOMALY_CACHE_SECONDS", 60)
    if cached is not None and time.monotonic() - cached[0] < ttl:
        return cached[1]
    with connection.cursor() as cursor:
        cursor.execute(_P95, [workflow, node, exclude_run, window])
        p95, runs = cursor.fetchone()
    value = Decimal(str(p95)).quantize(MICRO_DOLLAR) if p95 is not None and runs >= min_runs else None
    _p95_cache[key] = (time.monotonic(), value)
    return value


def _node_norm(*, run_id: int, workflow: str, node: str) -> Decimal | None:
    """The node's p95 spend over the workflow's recent other runs, if there are enough of them."""
    conf = _cached_settings()
    p95 = node_p95(workflow=workflow, node=node, exclude_run=run_id, window=conf.anomaly_window,
                   min_runs=conf.anomaly_min_runs)
    return p95 if p95 is not None and p95 > 0 else None


def anomaly_possible(*, run_id: int, workflow: str, node: str) -> bool:
    """Whether the node has a norm to compare with (enough recent runs): if not, settlement need not
    sum the node's spend at all."""
    return _node_norm(run_id=run_id, workflow=workflow, node=node) is not None


def anomaly_check(*, run_id: int, workflow: str, node: str, node_total: Decimal) -> int | None:
    """Raise an anomaly alert (once per run and node) if the node's spend in this run is far above its norm."""
    p95 = _node_norm(run_id=run_id, workflow=workflow, node=node)
    k = _cached_settings().anomaly_k
    if p95 is None or node_total <= k * p95:
        return None
    thread_id = Run.objects.filter(pk=run_id).values_list("thread_id", flat=True).first() or str(run_id)
    message = (f"Node {node} of run {thread_id} ({workflow}) has spent {money(node_total)}, "
               f"above {k} × its p95 of {money(p95)} over recent runs.")
    try:
        with transaction.atomic():
            alert = CostAlert.objects.create(kind="anomaly", run_id=run_id, node=node, message=message)
    except IntegrityError:
        return None  # already alerted for this run and node
    return alert.pk


def anomaly_cache_clear() -> None:
    global _settings_cache
    _p95_cache.clear()
    _settings_cache = None


# --- delivery -------------------------------------------------------------------------------------------
# Each alert is claimed once (`delivered_at`: handed on), and in the same transaction gets its ledger
# entry and its e-mail and webhook queued in the notification outbox; orchestrator.deliveries sends
# those after the commit, each channel with its own state and retries.
def alert_webhook_url() -> str:
    return cost_settings().alert_webhook_url


def alerts_queue(*, ids: list[int] | None = None, limit: int = 50) -> list[int]:
    """Write the ledger entry of each alert not handed on yet and queue its e-mail and webhook, in
    one transaction (no network in it); returns the queued deliveries' ids."""
    with transaction.atomic():
        # SKIP LOCKED: two processes handing on alerts at once take different ones.
        pending = CostAlert.objects.select_for_update(skip_locked=True, of=("self",)).filter(
            delivered_at__isnull=True).select_related("budget", "run")
        if ids is not None:
            pending = pending.filter(pk__in=ids)
        alerts = list(pending.order_by("id")[:limit])
        conf = cost_settings() if alerts else None
        events = []
        for alert in alerts:
            payload = {
                "alert": alert.pk, "kind": alert.kind, "budget": alert.budget.name if alert.budget else "",
                "threshold": alert.threshold, "run": alert.run.thread_id if alert.run else "", "node": alert.node,
                "message": alert.message,
            }
            error = ""
            try:
                system_ledger_append(kind=f"cost_alert_{alert.kind}", actor=None, payload=payload)
            except Exception as exc:  # its own savepoint: the alert itself must still go out
                error = f"ledger: {exc}"[:1000]
                log.warning("cost alert %s: no ledger entry: %s", alert.pk, exc)
            # Locked above, so this guarded claim finds the row unclaimed.
            if CostAlert.objects.filter(pk=alert.pk, delivered_at__isnull=True).update(
                    delivered_at=timezone.now(), delivery_error=error) != 1:
                raise RuntimeError(f"cost alert {alert.pk} was handed on by another process while locked")
            events.append(_event(conf, payload))
        return deliveries_queue(events)


def alerts_deliver(*, ids: list[int] | None = None, limit: int = 50) -> int:
    """Hand on these alerts (a worker that just raised them) and send their e-mails and webhooks; or,
    as a reconciler pass (no ids), hand on any left and send every cost-alert delivery that is due,
    retries included. Returns how many deliveries went out."""
    queued = alerts_queue(ids=ids, limit=limit)
    return deliveries_send(ids=queued) if ids is not None else deliveries_send(source=SOURCE)


def _event(conf: CostSettings, payload: dict[str, Any]) -> Event:
    recipients = [a.strip() for a in conf.alert_emails.replace(";", ",").split(",") if a.strip()]
    email = {"subject": f"[Gatehouse] cost alert: {payload['message'][:120]}", "body": payload["message"],
             "to": recipients} if recipients else None
    webhook = {"event": f"cost_alert.{payload['kind']}", **payload} if conf.alert_webhook_url else None
    return Event(source=SOURCE, ref=payload["alert"], email=email, webhook=webhook)
