"""Cost governance models: the price table, budgets and their per-period usage, live reservations,
one spend row per LLM call, and cost alerts.

Money is Decimal(18, 6) everywhere (a millionth of a dollar, as `orchestrator.llm.pricing` rounds).
Budget enforcement itself runs in SQL functions created by migration 0003 (see orchestrator/budgets.py):
these models describe the tables those functions read and write.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone

__all__ = [
    "AlertKind", "Budget", "BudgetPeriod", "BudgetReservation", "BudgetScope", "BudgetUsage", "CostAlert",
    "CostSettings", "LabelKey", "ModelPrice", "SpendDaily", "SpendEvent", "SpendRollup", "SpendRunDaily",
]

MONEY = {"max_digits": 18, "decimal_places": 6}


class ModelPrice(models.Model):
    """USD per million tokens for model names matching `pattern` (fnmatch glob), from a date on."""

    pattern = models.CharField(max_length=200)
    input_per_mtok = models.DecimalField(**MONEY)
    output_per_mtok = models.DecimalField(**MONEY)
    cached_input_per_mtok = models.DecimalField(**MONEY)
    effective_from = models.DateField()
    note = models.CharField(max_length=300, blank=True, default="")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pattern", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["pattern", "effective_from"], name="price_pattern_from"),
            models.CheckConstraint(
                condition=Q(input_per_mtok__gte=0) & Q(output_per_mtok__gte=0) & Q(cached_input_per_mtok__gte=0),
                name="price_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pattern} from {self.effective_from}"


class CostSettings(models.Model):
    """Admin-editable cost settings: a single row (pk=1), created by the seed migration."""

    allow_unpriced = models.BooleanField(default=False)
    anomaly_k = models.DecimalField(max_digits=8, decimal_places=2, default=3)
    anomaly_window = models.IntegerField(default=20)  # recent runs of the workflow the p95 is taken over
    anomaly_min_runs = models.IntegerField(default=5)  # fewer runs than this: no norm yet, no alert
    alert_emails = models.CharField(max_length=1000, blank=True, default="")
    alert_webhook_url = models.URLField(max_length=500, blank=True, default="")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)


class BudgetScope(models.TextChoices):
    GLOBAL = "global", "Everything"
    WORKFLOW = "workflow", "One workflow"
    LABEL = "label", "A run label (key=value)"
    RUN = "run", "Each run"


class BudgetPeriod(models.TextChoices):
    TOTAL = "total", "All time"
    DAILY = "daily", "Per day (UTC)"
    MONTHLY = "monthly", "Per calendar month (UTC)"


class Budget(models.Model):
    name = models.CharField(max_length=120, unique=True)
    scope = models.CharField(max_length=20, choices=BudgetScope.choices)
    # The workflow name for scope=workflow, "key=value" for scope=label, "" otherwise.
    match = models.CharField(max_length=300, blank=True, default="")
    period = models.CharField(max_length=20, choices=BudgetPeriod.choices, default=BudgetPeriod.MONTHLY)
    cap = models.DecimalField(**MONEY)
    # Percent of the cap at which to alert once per period, e.g. [50, 80].
    soft_thresholds = models.JSONField(default=list, blank=True)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # Who saved it last, and how many saves changed it: an edit form carries the version it was opened
    # on, and a save on any other is refused naming this person (cost_admin.budget_update).
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.IntegerField(default=0)

    class Meta:
        ordering = ["name"]
        constraints = [models.CheckConstraint(condition=Q(cap__gte=0), name="budget_cap_not_negative")]

    def __str__(self) -> str:
        return self.name


class BudgetUsage(models.Model):
    """Spend and live reservations of one budget in one period (and, for per-run budgets, one run).

    Invariant kept by the reserve function: spent + reserved <= cap whenever a reservation is added.
    """

    budget = models.ForeignKey(Budget, on_delete=models.CASCADE, related_name="usage")
    period_start = models.DateField()  # 1970-01-01 for period=total
    run_key = models.BigIntegerField(default=0)  # the run id for scope=run, else 0
    spent = models.DecimalField(default=0, **MONEY)
    reserved = models.DecimalField(default=0, **MONEY)
    alerted_pct = models.IntegerField(default=0)  # highest soft threshold already alerted this period
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["budget", "period_start", "run_key"], name="budget_usage_period"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="budget_usage_reserved_not_negative"),
        ]


class BudgetReservation(models.Model):
    """A live hold on budget, drawn down by the LLM calls of one worker job (orchestrator.budgets).
    Deleted when the job closes it or the reconciler releases it; both book `used` as spent.

    One index (the token): the table only ever holds the holds of running jobs, so the
    reconciler's scans by run or expiry read a handful of rows. No FK constraint on run: the
    reserve statement itself checks the run and its lease token. node/visit/call_index/attempt/
    model describe the call that opened the hold.
    """

    token = models.CharField(max_length=40, primary_key=True)
    run = models.ForeignKey("orchestrator.Run", on_delete=models.DO_NOTHING, related_name="+", db_index=False,
                            db_constraint=False)
    lease_token = models.BigIntegerField()  # the run's fencing token when reserved
    node = models.CharField(max_length=200)
    visit = models.IntegerField()
    call_index = models.IntegerField()
    attempt = models.IntegerField(default=1)
    model = models.CharField(max_length=200)
    amount = models.DecimalField(**MONEY)  # held on every applicable budget
    used = models.DecimalField(**MONEY, default=Decimal(0))  # settled calls' cost, booked at close
    revoked = models.BooleanField(default=False)  # a budget changed: draw no more from this hold
    usage_ids = ArrayField(models.BigIntegerField(), default=list)
    created_at = models.DateTimeField(default=timezone.now)
    # Pushed on by every settlement to past the end of its job's draw window by the longest a call
    # can take; the reconciler releases a hold only after this (orchestrator.budgets).
    expires_at = models.DateTimeField()


class SpendEvent(models.Model):
    """One billed LLM call, with everything chargeback needs. Written with the budget settlement.

    Written on every call, so it carries no more than it needs: no index of its own on run (the
    (run, node) index serves lookups by run) and no FK constraint — the settlement writes it only for
    a run whose hold or budgets it just updated, and runs are never deleted."""

    run = models.ForeignKey("orchestrator.Run", on_delete=models.DO_NOTHING, related_name="+", db_index=False,
                            db_constraint=False)
    workflow = models.CharField(max_length=200)
    node = models.CharField(max_length=200)
    visit = models.IntegerField()
    call_index = models.IntegerField()
    attempt = models.IntegerField(default=1)
    labels = models.JSONField(default=dict, blank=True)
    provider = models.CharField(max_length=50)
    model = models.CharField(max_length=200)
    input_tokens = models.IntegerField(default=0)
    output_tokens = models.IntegerField(default=0)
    cached_tokens = models.IntegerField(default=0)
    cost = models.DecimalField(**MONEY)
    reserved = models.DecimalField(default=0, **MONEY)
    latency_ms = models.FloatField(default=0)
    partial = models.BooleanField(default=False)  # a cut-off stream, billed for what was received
    unpriced = models.BooleanField(default=False)  # allowed by the admin setting, counted at zero
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["created_at"], name="spend_created"),
            models.Index(fields=["run", "node"], name="spend_run_node"),
            models.Index(fields=["workflow", "node", "-created_at"], name="spend_workflow_node"),
        ]


class SpendDaily(models.Model):
    """The spend rows of one UTC day summed by workflow, node and model (orchestrator.spend_rollup):
    what the costs dashboard reads for a day before the roll-up's mark instead of every call."""

    day = models.DateField()
    workflow = models.CharField(max_length=200)
    node = models.CharField(max_length=200)
    model = models.CharField(max_length=200)
    cost = models.DecimalField(**MONEY)
    calls = models.BigIntegerField()
    input_tokens = models.BigIntegerField()
    output_tokens = models.BigIntegerField()
    cached_tokens = models.BigIntegerField()
    unpriced = models.BigIntegerField()  # how many of the calls were unpriced
    partial = models.BigIntegerField()  # how many were cut-off streams

    class Meta:
        constraints = [
            # A day is rolled up once (the mark moves in the same transaction): a second roll-up of it
            # would fail here rather than count its calls twice.
            models.UniqueConstraint(fields=["day", "workflow", "node", "model"], name="spend_daily_key"),
        ]


class SpendRunDaily(models.Model):
    """The spend rows of one UTC day summed by run and labels (orchestrator.spend_rollup): the
    number of runs, the costliest runs, and spend by label. The labels are the spend rows' own
    (a copy of the run's labels at its start), so erasure rewrites them here too; almost always
    one row per run and day. No unique key: erasure may make two rows' labels equal."""

    day = models.DateField()
    run = models.ForeignKey("orchestrator.Run", on_delete=models.DO_NOTHING, related_name="+", db_index=False,
                            db_constraint=False)
    labels = models.JSONField(default=dict, blank=True)
    cost = models.DecimalField(**MONEY)
    calls = models.BigIntegerField()
    input_tokens = models.BigIntegerField()
    output_tokens = models.BigIntegerField()
    cached_tokens = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["day"], name="spend_run_daily_day"),
            models.Index(fields=["run"], name="spend_run_daily_run"),  # erasure rewrites a run's labels
        ]


class SpendRollup(models.Model):
    """The roll-up's mark, a single row (pk=1): days before `next_day` are in SpendDaily and
    SpendRunDaily, days from it on are read from the spend rows. None: nothing rolled up yet."""

    next_day = models.DateField(null=True, blank=True)


class LabelKey(models.Model):
    """A label key some run was started with (orchestrator.label_keys); never removed: erasure keeps
    label keys, and a key no run carries any more still names a column of past chargebacks."""

    key = models.TextField(primary_key=True)


class AlertKind(models.TextChoices):
    THRESHOLD = "threshold", "Soft threshold crossed"
    ANOMALY = "anomaly", "Anomalous node spend"


class CostAlert(models.Model):
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    budget = models.ForeignKey(Budget, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    usage = models.ForeignKey(BudgetUsage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    threshold = models.IntegerField(null=True, blank=True)
    run = models.ForeignKey("orchestrator.Run", null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+")
    node = models.CharField(max_length=200, blank=True, default="")
    message = models.CharField(max_length=1000)
    created_at = models.DateTimeField(default=timezone.now)
    # Set when the alert was handed on: its ledger entry written, its e-mail and webhook queued (one
    # Delivery row each, source "cost_alert", whose states say what reached people). delivery_error
    # holds a ledger entry that could not be written.
    delivered_at = models.DateTimeField(null=True, blank=True)
    delivery_error = models.CharField(max_length=1000, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # "Once per period": one alert per usage row and threshold; one anomaly per run and node.
            models.UniqueConstraint(fields=["usage", "threshold"], condition=Q(kind="threshold"),
                                    name="alert_once_per_period"),
            models.UniqueConstraint(fields=["run", "node"], condition=Q(kind="anomaly"), name="alert_once_per_node"),
        ]
