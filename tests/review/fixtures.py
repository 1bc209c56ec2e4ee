"""Review fixtures: real runs advanced to their gate by the real executor (in this process).

Imported by tests/review/conftest.py and by the browser tests that need pending items."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from orchestrator.executor import run_advance
from orchestrator.services import run_start
from review.models import ReviewItem
from tests.fakes.webhook import WebhookReceiver


@pytest.fixture
def payment_workflow(register_workflows):
    register_workflows("tests.review.graphs")


def _advance_to_gate(workflow: str, payload: dict, actor=None) -> ReviewItem:
    run = run_start(workflow=workflow, input=payload, actor=actor)
    outcome = run_advance(run.pk, worker="test")
    assert outcome == "suspended", f"{workflow} ended {outcome!r} instead of stopping at its gate"
    return ReviewItem.objects.select_related("run").get(run=run)


@pytest.fixture
def email_item(transactional_db) -> Callable[..., ReviewItem]:
    """email_item(to=..., topic=..., actor=...) -> the pending review item of a fresh email_approval run."""

    def make(*, to: str = "cfo@example.com", topic: str = "Q3 numbers", actor=None, **extra) -> ReviewItem:
        return _advance_to_gate("email_approval", {"to": to, "topic": topic, **extra}, actor)

    return make


@pytest.fixture
def payment_item(transactional_db, payment_workflow) -> Callable[..., ReviewItem]:
    """payment_item(amount=..., approvals=2, due_in=-1, on_expiry="escalate", actor=...) -> pending item."""

    def make(*, actor=None, **fields) -> ReviewItem:
        return _advance_to_gate("payment", {"payee": "ap@supplier.example", "amount": 1200, **fields}, actor)

    return make


@pytest.fixture
def outreach_item(transactional_db, register_workflows) -> Callable[..., ReviewItem]:
    """outreach_item(actor=..., **fields) -> the pending item of an outreach run (tests.review.graphs_outreach)."""
    register_workflows("tests.review.graphs_outreach")

    def make(*, actor=None, **fields) -> ReviewItem:
        return _advance_to_gate("outreach", {"email": {"subject": "Q3 numbers", "cc": ["cfo@example.com"]},
                                             "send_on": "2025-01-31", **fields}, actor)

    return make


@pytest.fixture
def dispatch_item(transactional_db, register_workflows) -> Callable[..., ReviewItem]:
    """dispatch_item(actor=..., **fields) -> the pending item of a dispatch run (tests.review.graphs_dispatch),
    whose gate asks about a field of each kind the edit form shows differently."""
    register_workflows("tests.review.graphs_dispatch")

    def make(*, actor=None, **fields) -> ReviewItem:
        return _advance_to_gate("dispatch", {"contacts": [{"name": "Ana", "email": "ana@example.com"}], **fields},
                                actor)

    return make


@pytest.fixture
def webhook_receiver(webhook_server: WebhookReceiver) -> tuple[str, list[dict]]:
    """(url, received): a local HTTP server that keeps the JSON bodies POSTed to it (the review webhook's)."""
    return webhook_server.url, webhook_server.bodies


def fork_item_of(item: ReviewItem, actor, *, edits: dict | None = None, **options) -> ReviewItem:
    """The pending item of a fork of `item`'s run by `actor`, taken just before its gate, with `edits`
    (and run_fork's `options`: mode, allow_effects); the worker notifies as it suspends the fork."""
    from orchestrator.forks import run_fork
    from orchestrator.models import Checkpoint

    step = Checkpoint.objects.filter(run=item.run, next_node=item.node).order_by("step").first().step
    fork = run_fork(run=item.run, at_step=step, edits=edits or None, actor=actor, **options)
    assert run_advance(fork.pk, worker="test") == "suspended"
    return ReviewItem.objects.select_related("run").get(run=fork)


def nothing_was_decided(item: ReviewItem) -> None:
    """A refused decision left no trace: the item pending and unedited, no decision row, no ledger entry."""
    from audit.models import LedgerEntry
    from review.models import ReviewDecision

    item.refresh_from_db()
    assert item.status == "pending" and item.edits is None
    assert not ReviewDecision.objects.filter(item=item).exists()
    assert not LedgerEntry.objects.filter(chain=item.run.thread_id, kind="decision").exists()
