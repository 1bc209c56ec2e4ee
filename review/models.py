"""Review items: a run suspended at a gate waits here for people, not for a process."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from django.utils import timezone


class ItemStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DECIDED = "decided", "Decided"
    EXPIRED = "expired", "Expired"
    CANCELLED = "cancelled", "Cancelled"


class ItemKind(models.TextChoices):
    GATE = "gate", "Approval gate"
    LOOP_GUARD = "loop_guard", "Loop guard"
    BUDGET = "budget_exceeded", "Budget exceeded"


class Decision(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"
    EDIT = "edit", "Edit then approve"
    RESPOND = "respond", "Respond"


# What a decision did, said of whoever made it: "Rejected by Riley Reviewer", not "reviewer reject".
DECISION_DONE = {
    Decision.APPROVE: "Approved",
    Decision.REJECT: "Rejected",
    Decision.EDIT: "Approved with edits",
    Decision.RESPOND: "Sent back with a response",
}


class ReviewItem(models.Model):
    # Rows are inserted by the executor's one-statement step commit (orchestrator/commit.py) with
    # raw SQL that names only the columns it knows: every NOT NULL column added later needs a
    # `db_default` (or null=True), or that INSERT fails.
    run = models.ForeignKey("orchestrator.Run", on_delete=models.PROTECT, related_name="review_items")
    step = models.IntegerField()
    node = models.CharField(max_length=200)
    kind = models.CharField(max_length=30, choices=ItemKind.choices, default=ItemKind.GATE)
    status = models.CharField(max_length=20, choices=ItemStatus.choices, default=ItemStatus.PENDING)
    workflow = models.CharField(max_length=200, db_index=True)
    action = models.CharField(max_length=200, blank=True, default="")
    summary = models.CharField(max_length=500, blank=True, default="")
    risk = models.CharField(max_length=20, default="medium")
    reviewer_group = models.CharField(max_length=100, default="reviewer")
    required_approvals = models.IntegerField(default=1)
    approvals = models.IntegerField(default=0)
    # The gate's request as JSON text (action, args, description, allowed decisions, relevant fields…).
    request = models.TextField(default="{}")
    created_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision = models.CharField(max_length=20, blank=True, default="")
    reason = models.TextField(blank=True, default="")
    edits = models.JSONField(null=True, blank=True)
    response = models.TextField(blank=True, default="")
    # Set when the "new item" e-mail and webhook were queued (review.notifications claims NULL rows);
    # what reached people is in their Delivery rows (source "review"). Escalation clears it: the
    # new group is told.
    notified_at = models.DateTimeField(null=True, blank=True)
    # Deadline escalation (review.expiry): the group the item moved from, and when.
    # db_default: the executor's one-statement commit inserts items without naming this column.
    escalated_from = models.CharField(max_length=100, blank=True, default="", db_default="")
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "step"], name="review_item_run_step")]
        # The inbox reads pending items newest first, optionally narrowed by one filter; each
        # partial index serves one filter in that order (bench/inbox_100k.py shows the figures).
        indexes = [
            models.Index(fields=["status", "-created_at", "-id"], name="review_pending_recent"),
            models.Index(fields=["workflow", "-created_at", "-id"], name="review_pending_workflow",
                         condition=Q(status="pending")),
            models.Index(fields=["risk", "-created_at", "-id"], name="review_pending_risk",
                         condition=Q(status="pending")),
            models.Index(fields=["claimed_by", "-created_at", "-id"], name="review_pending_claimed",
                         condition=Q(status="pending")),
            models.Index(fields=["due_at"], name="review_pending_due", condition=Q(status="pending")),
            models.Index(fields=["id"], name="review_unnotified",
                         condition=Q(status="pending", notified_at__isnull=True)),
            GinIndex(fields=["request"], name="review_request_trgm", opclasses=["gin_trgm_ops"]),
        ]

    @property
    def progress(self) -> str:
        """Four-eyes progress as people say it: "1 of 2"."""
        return f"{self.approvals} of {self.required_approvals}"

    def __str__(self) -> str:
        return f"{self.workflow}: {self.action or self.node}"


class ReviewDecision(models.Model):
    """One person's decision on an item (several for four-eyes gates)."""

    item = models.ForeignKey(ReviewItem, on_delete=models.PROTECT, related_name="decisions")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                              db_index=False)  # decision_actor_recent leads with it
    decision = models.CharField(max_length=20, choices=Decision.choices)
    reason = models.TextField(blank=True, default="")
    edits = models.JSONField(null=True, blank=True)
    response = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["item", "actor"], name="review_decision_once_per_actor")]
        # The decision log reads newest first, all or one person's (bench/decisions_1m.py: with no
        # index on the time, every page sorted every decision, 0.1-0.45 s at a million).
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="decision_recent"),
            models.Index(fields=["actor", "-created_at", "-id"], name="decision_actor_recent"),
        ]
