"""Reads about review items."""

from __future__ import annotations

from orchestrator.models import Run
from orchestrator.services import RunError
from review.models import ItemStatus, ReviewItem


def pending_item_for_run(run: Run) -> ReviewItem:
    item = ReviewItem.objects.filter(run=run, status=ItemStatus.PENDING).order_by("-step").first()
    if item is None:
        latest = ReviewItem.objects.filter(run=run).select_related("decided_by").order_by("-step").first()
        if latest is not None and latest.decided_by_id:
            raise RunError(
                f"run {run.thread_id} has no pending gate: its last gate was already decided "
                f"({latest.decision}) by {latest.decided_by.username} at {latest.decided_at:%Y-%m-%d %H:%M:%S} UTC."
            )
        raise RunError(f"run {run.thread_id} is {run.status} and has no pending gate to decide.")
    return item
