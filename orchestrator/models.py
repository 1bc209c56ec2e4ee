"""Run models: runs, immutable checkpoints, the call journal, blobs, API tokens, the demo outbox.

State payloads (checkpoint deltas/snapshots, journal requests/results) are stored as JSON *text*,
not jsonb: jsonb refuses the NUL character, and a workflow's strings must round-trip unchanged.
They are opaque to SQL anyway; queries go through the typed columns.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Value
from django.utils import timezone

GENESIS = "0" * 64


def _new_salt() -> str:
    return secrets.token_hex(16)


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUSPENDED = "suspended", "Suspended"
    COMPLETED = "completed", "Completed"
    REJECTED = "rejected", "Rejected"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


TERMINAL_STATUSES = frozenset({RunStatus.COMPLETED, RunStatus.REJECTED, RunStatus.FAILED, RunStatus.CANCELLED})


class SuspendReason(models.TextChoices):
    GATE = "gate", "Waiting for a decision"
    LOOP_GUARD = "loop_guard", "Loop guard"
    BUDGET_EXCEEDED = "budget_exceeded", "Budget exceeded"


class Run(models.Model):
    # Indexes are declared in Meta, not with unique=/db_index= on the fields: those also create a
    # varchar_pattern_ops twin per text column that no query uses, and every index costs on the
    # commits that change the run's status (a step that stays "running" updates the row in place).
    thread_id = models.CharField(max_length=200)
    workflow = models.CharField(max_length=200)
    graph_version = models.CharField(max_length=64)
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED)
    suspended_reason = models.CharField(max_length=30, blank=True, default="")
    labels = models.JSONField(default=dict, blank=True)

    # Position: the last committed checkpoint and the node that runs next ("" = END).
    step = models.IntegerField(default=0)
    next_node = models.CharField(max_length=200, blank=True, default="")
    # Journal key of the node visit in progress: the step it started from. A node re-run after a
    # crash or a dynamic interrupt keeps its visit, so its journaled calls are found again.
    visit_step = models.IntegerField(default=0)
    # The call indices of visit `visit_step` whose spend is already in the run's totals (committed
    # when the visit suspended or failed): re-run after the decision or a retry, the node gets those
    # calls back from the journal and they are not counted a second time. A set, not a count: a
    # call that failed without a journal row leaves a gap, and a later attempt may make it.
    spend_counted = ArrayField(models.IntegerField(), default=list, db_default=Value([], ArrayField(models.IntegerField())))
    guard_base_step = models.IntegerField(default=0)
    attempts = models.IntegerField(default=0)
    error = models.JSONField(null=True, blank=True)

    # Single writer: a worker holds the lease until it expires; every commit names the token.
    lease_token = models.BigIntegerField(default=0)
    lease_owner = models.CharField(max_length=200, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    cached_tokens = models.BigIntegerField(default=0)
    cost = models.DecimalField(max_digits=18, decimal_places=6, default=0)
    llm_calls = models.IntegerField(default=0)

    # Ledger chain head of this run: advanced only by guarded updates, so the chain cannot fork.
    ledger_head = models.CharField(max_length=64, default=GENESIS)
    ledger_len = models.IntegerField(default=0)
    # Salt for the digests of this run's payloads in the ledger: a guessable value (an email
    # address) cannot be confirmed from its digest, and erasure can drop the salt.
    ledger_salt = models.CharField(max_length=64, default=_new_salt)

    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="forks",
                               db_index=False)
    forked_from_step = models.IntegerField(null=True, blank=True)
    replay_mode = models.CharField(max_length=20, blank=True, default="")
    allow_effects = models.BooleanField(default=True)
    diverged_at_step = models.IntegerField(null=True, blank=True)
    overrides = models.JSONField(default=dict, blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["thread_id"], name="run_thread_id_unique"),
            # The ledger's chain of entries outside runs is called "system" (audit.services).
            models.CheckConstraint(condition=~models.Q(thread_id="system"), name="run_thread_id_not_system"),
        ]
        indexes = [
            models.Index(fields=["status", "lease_expires_at"], name="run_status_lease"),  # also serves status=
            models.Index(fields=["-created_at", "-id"], name="run_recent"),  # also serves created_at ranges
            models.Index(fields=["workflow"], name="run_workflow"),
            # Most runs have no parent and no creating user: index only the rows that do.
            models.Index(fields=["parent"], name="run_parent", condition=models.Q(parent__isnull=False)),
            models.Index(fields=["created_by"], name="run_created_by", condition=models.Q(created_by__isnull=False)),
            # The runs list's search by any part of a thread id, and its label filter (labels @> …):
            # without them a rare match or none read every run (0.2–0.6 s at a million, bench/runs_1m.py).
            # Neither column changes after the run starts, so steps still update the row in place.
            GinIndex(fields=["thread_id"], name="run_thread_id_trgm", opclasses=["gin_trgm_ops"]),
            GinIndex(fields=["labels"], name="run_labels", opclasses=["jsonb_path_ops"]),
        ]

    def __str__(self) -> str:
        return self.thread_id

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


class CheckpointSource(models.TextChoices):
    INPUT = "input", "Input"
    NODE = "node", "Node"
    GATE = "gate", "Gate entered"
    DECISION = "decision", "Decision"
    EDIT = "edit", "State edit"
    FORK = "fork", "Fork"


class Checkpoint(models.Model):
    """One committed transition. Immutable: a trigger refuses UPDATE and DELETE."""

    # No foreign-key constraint: the step commit inserts a checkpoint only FROM the guarded UPDATE
    # of its run row (orchestrator.commit), and runs are never deleted (retention clears a run's
    # history, not its row), so the deferred RI check would re-prove on every step what the
    # statement already guarantees. The (run, step) unique index serves lookups by run.
    run = models.ForeignKey(Run, on_delete=models.DO_NOTHING, related_name="checkpoints", db_index=False,
                            db_constraint=False)
    step = models.IntegerField()
    node = models.CharField(max_length=200, blank=True, default="")
    source = models.CharField(max_length=20, choices=CheckpointSource.choices)
    # {"set": {key: value}, "append": {key: [items]}} in stored form (large values as blob pointers).
    delta = models.TextField(default="{}")
    snapshot = models.TextField(null=True, blank=True)
    next_node = models.CharField(max_length=200, blank=True, default="")
    state_hash = models.CharField(max_length=64, default="")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.FloatField(default=0)
    input_tokens = models.IntegerField(default=0)
    output_tokens = models.IntegerField(default=0)
    cost = models.DecimalField(max_digits=18, decimal_places=6, default=0)
    attempt = models.IntegerField(default=1)
    meta = models.TextField(default="{}")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "step"], name="checkpoint_run_step")]
        # Node steps have no actor; only decisions, edits and forks do.
        indexes = [models.Index(fields=["actor"], name="checkpoint_actor", condition=models.Q(actor__isnull=False))]

    def __str__(self) -> str:
        return f"{self.run_id}@{self.step}"


class JournalKind(models.TextChoices):
    LLM = "llm", "LLM call"
    EFFECT = "effect", "Side effect"
    INTERRUPT = "interrupt", "Interrupt"


class JournalEntry(models.Model):
    """A call a node made through ctx, keyed by (run, visit, call index). Immutable."""

    run = models.ForeignKey(Run, on_delete=models.DO_NOTHING, related_name="journal")
    visit = models.IntegerField()
    call_index = models.IntegerField()
    node = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=JournalKind.choices)
    name = models.CharField(max_length=200, blank=True, default="")
    request_hash = models.CharField(max_length=64, default="")
    request = models.TextField(default="{}")
    result = models.TextField(default="null")
    provider = models.CharField(max_length=50, blank=True, default="")
    model = models.CharField(max_length=200, blank=True, default="")
    input_tokens = models.IntegerField(default=0)
    output_tokens = models.IntegerField(default=0)
    cached_tokens = models.IntegerField(default=0)
    cost = models.DecimalField(max_digits=18, decimal_places=6, default=0)
    latency_ms = models.FloatField(default=0)
    idempotency_key = models.CharField(max_length=300, blank=True, default="")
    replayed = models.BooleanField(default=False)
    dry_run = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "visit", "call_index"], name="journal_run_visit_call")
        ]


class WorkflowInUse(models.Model):
    """The version of each workflow that last started, forked, upgraded or advanced a run
    (orchestrator.workflow_versions): a change of it is a ledger entry, because a new version is
    how gate policies change (gates are code)."""

    workflow = models.CharField(max_length=200, primary_key=True)
    version = models.CharField(max_length=64)
    since = models.DateTimeField(default=timezone.now)


class Blob(models.Model):
    """Content-addressed payload: the bytes live in Django storage under their sha256."""

    sha256 = models.CharField(max_length=64, primary_key=True)
    size = models.BigIntegerField()
    content_type = models.CharField(max_length=100, default="application/json")
    created_at = models.DateTimeField(default=timezone.now)


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # A token stops working at expires_at (none: never) or once revoked; the row stays, to show
    # which token a request used and when it was turned off.
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)


class OutboxMessage(models.Model):
    """The demo email side effect's outbox (orchestrator.demo.outbox): one row per idempotency key,
    recorded before the send and marked sent after it. A row still unsent is sent again by the next
    call with its key; only a row marked sent makes that call a duplicate."""

    idempotency_key = models.CharField(max_length=300, unique=True)
    run = models.ForeignKey(Run, null=True, on_delete=models.SET_NULL, related_name="+")
    to = models.CharField(max_length=300)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    # Set once the mail backend accepted the message; null while it has not (a failed send, or a
    # worker that died between recording and sending).
    sent_at = models.DateTimeField(null=True, blank=True)


# Cost governance (prices, budgets, spend, alerts) and the notification outbox live in their own modules.
from orchestrator.models_costs import *  # noqa: E402,F401,F403
from orchestrator.models_deliveries import *  # noqa: E402,F401,F403
