"""Webhooks that failed together (their receiver was down) do not all come back at the same moment:
each waits its step of GATEHOUSE_NOTIFY_RETRY_MINUTES plus up to a fifth more at random, never less,
so a receiver that comes back is not hit by the whole backlog in one second."""

from __future__ import annotations

from orchestrator.models import Delivery
from review.notifications import items_notify
from tests.deliveries import db_now, retries_due, waits_its_step

ITEMS = 10


def test_webhooks_failing_in_one_pass_are_retried_spread_over_a_fifth_of_their_step(
        email_item, reviewer_user, settings, webhook_server):
    settings.GATEHOUSE_REVIEW_WEBHOOK_URL = webhook_server.url
    settings.GATEHOUSE_NOTIFY_RETRY_MINUTES = [1, 10]
    webhook_server.answer(*[503] * (2 * ITEMS))
    items = [email_item(topic=f"invoice {n}") for n in range(ITEMS)]  # each webhook's first attempt: 503
    retries_due()

    before = db_now()
    assert items_notify() == 0  # the second attempt of all of them, in one pass: 503 again
    failed_between = (before, db_now())

    webhooks = list(Delivery.objects.filter(channel="webhook", ref__in=[i.pk for i in items]))
    assert len(webhooks) == ITEMS and {w.attempts for w in webhooks} == {2}
    assert all(waits_its_step(w, minutes=10, failed_between=failed_between) for w in webhooks), \
        "each waits its step and at most a fifth more"
    # Without the jitter they would be due within the pass's few milliseconds of one another; with it,
    # ten draws over two minutes all falling within ten seconds has a chance below 1 in 10^8.
    times = sorted(w.next_attempt_at for w in webhooks)
    assert (times[-1] - times[0]).total_seconds() > 10, "spread out, not in lockstep"
