"""Two senders never post the same webhook at once: while the worker that suspended a run is posting
its item's webhook (the receiver is slow to answer), the reconciler's pass posts nothing. Only a claim
that lapsed (its sender died or hung) is taken over, and then the receiver gets the same event again,
which its id lets it drop."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from django.db import connection

from orchestrator.models import Delivery
from review.models import ReviewItem
from review.notifications import items_notify
from tests.deliveries import claims_lapse, deliveries_of, retries_due


@pytest.fixture
def worker_posting(email_item, reviewer_user, settings, webhook_server, wait_for) -> Iterator[Callable[[], None]]:
    """A worker (a thread) has suspended a run and is posting its item's webhook, which the receiver
    holds; the test calls the fixture's value to let the receiver answer."""
    settings.GATEHOUSE_REVIEW_WEBHOOK_URL = webhook_server.url
    settings.GATEHOUSE_WEBHOOK_TIMEOUT_SECONDS = 30  # the held POST waits for the test, not for a timeout
    webhook_server.hold()

    def suspend_a_run() -> None:
        try:
            email_item()
        finally:
            connection.close()  # this thread's own connection

    worker = threading.Thread(target=suspend_a_run)
    worker.start()
    wait_for(lambda: webhook_server.requests, what="the worker's webhook to reach the receiver")

    def answer() -> None:
        webhook_server.release()
        worker.join(timeout=30)
        assert not worker.is_alive()

    yield answer
    webhook_server.release()
    worker.join(timeout=30)


def test_the_reconciler_posts_nothing_the_worker_is_posting(worker_posting, webhook_server):
    assert items_notify() == 0
    worker_posting()
    retries_due()
    assert items_notify() == 0

    assert len(webhook_server.requests) == 1
    item = ReviewItem.objects.get()
    assert deliveries_of("review", item.pk)["webhook"].state == "sent"


def test_a_lapsed_claim_is_taken_over_and_the_receiver_gets_the_same_event_again(worker_posting, webhook_server):
    # As if the worker had hung past its claim.
    claims_lapse(channel="webhook")

    assert items_notify() == 1
    worker_posting()  # the worker's late answer finds its claim taken over, and records nothing

    first, again = webhook_server.requests
    assert first.body == again.body and first.headers["Idempotency-Key"] == again.headers["Idempotency-Key"]
    webhook = Delivery.objects.get(channel="webhook")
    assert (webhook.state, webhook.attempts) == ("sent", 2)
