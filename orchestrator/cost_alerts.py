"""Cost alerts: soft budget thresholds (claimed in SQL at settlement, once per period) and anomalous
node spend (a node whose spend in one run passes k × its rolling p95 over the workflow's recent
runs), delivered by email and webhook and recorded in the ledger's system chain.

Alerts go to the "system" chain rather than the run's own chain: they are raised while a worker
holds the run mid-node, and the run's chain may only be advanced by that worker's step commit.
The entry names the run (thread id) and node, so the audit trail still ties it to the run.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.request
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from audit.services import system_ledger_append
from orchestrator.budgets import THRESHOLD_PASSED
from orchestrator.mail import MailPass
from orchestrator.models import CostAlert, CostSettings, Run

log = logging.getLogger("gatehouse.costs")
SYSTEM_CHAIN = "system"
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
         'Budget "' || name || '" passed ' || pct || '%% of its cap: $' || round(spent, 4)
           || ' of $' || round(cap, 2) || ' spent.',
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
    value = Decimal(str(p95)).quantize(Decimal("0.000001")) if p95 is not None and runs >= min_runs else None
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
    message = (f"Node {node} of run {thread_id} ({workflow}) has spent ${node_total:.6f}, "
               f"above {k} × its p95 of ${p95:.6f} over recent runs.")
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
def alerts_deliver(*, ids: list[int] | None = None, limit: int = 50) -> int:
    """Deliver undelivered alerts once each: ledger entry, email, webhook. Also a reconciler pass."""
    pending = CostAlert.objects.filter(delivered_at__isnull=True).select_related("budget", "run")
    if ids is not None:
        pending = pending.filter(pk__in=ids)
    with MailPass() as mail:
        return _deliver(list(pending.order_by("id")[:limit]), mail)


def _deliver(alerts: list[CostAlert], mail: MailPass) -> int:
    delivered = 0
    conf = None
    for alert in alerts:
        # Guarded claim: two processes delivering at once send each alert once.
        if CostAlert.objects.filter(pk=alert.pk, delivered_at__isnull=True).update(delivered_at=timezone.now()) != 1:
            continue
        conf = conf or cost_settings()
        payload = {
            "alert": alert.pk, "kind": alert.kind, "budget": alert.budget.name if alert.budget else "",
            "threshold": alert.threshold, "run": alert.run.thread_id if alert.run else "", "node": alert.node,
            "message": alert.message,
        }
        errors = []
        try:
            system_ledger_append(kind=f"cost_alert_{alert.kind}", actor=None, payload=payload)
        except Exception as exc:  # the alert itself must still go out
            errors.append(f"ledger: {exc}")
        errors += _notify(conf, payload, mail)
        if errors:
            CostAlert.objects.filter(pk=alert.pk).update(delivery_error="; ".join(errors)[:1000])
        delivered += 1
    return delivered


def _notify(conf: CostSettings, payload: dict[str, Any], mail: MailPass) -> list[str]:
    errors = []
    recipients = [a.strip() for a in conf.alert_emails.replace(";", ",").split(",") if a.strip()]
    if recipients:
        # Once the mail server could not be reached, the pass's later alerts are not mailed (no
        # second wait): their delivery error says so, and the ledger entry and webhook still go.
        try:
            mail.send(EmailMessage(f"[Gatehouse] cost alert: {payload['message'][:120]}", payload["message"],
                                   None, recipients))
        except Exception as exc:
            errors.append(f"email: {exc}")
    if conf.alert_webhook_url:
        request = urllib.request.Request(conf.alert_webhook_url, data=json.dumps(payload).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=5) as reply:  # noqa: S310 - admin-configured URL
                reply.read()
        except Exception as exc:
            errors.append(f"webhook: {exc}")
    for error in errors:
        log.warning("cost alert %s not delivered: %s", payload["alert"], error)
    return errors
