"""Two people decide the same gate at the same moment: exactly one decision resumes the run."""

from __future__ import annotations

import re
import threading

from django.db import connection

from orchestrator.executor import run_advance
from orchestrator.models import Checkpoint, Run
from orchestrator.services import run_start
from review.models import ReviewItem
from review.services import AlreadyDecided, DecisionInput, review_decide


def test_two_concurrent_decisions_on_one_gate_resume_the_run_once(transactional_db, make_user, redis_conn):
    alice, bob = make_user("alice", "reviewer"), make_user("bob", "reviewer")
    run = run_start(workflow="email_approval", input={"to": "x@example.com", "topic": "launch"})
    assert run_advance(run.pk, worker="test") == "suspended"
    redis_conn.flushdb()  # drop the start job (advanced in-process above) to count resumes alone
    item = ReviewItem.objects.get(run=run)
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def decide(user, decision: DecisionInput) -> None:
        barrier.wait()
        try:
            outcomes[user.username] = review_decide(item=item, actor=user, decision=decision)
        except AlreadyDecided as exc:
            outcomes[user.username] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=decide, args=(alice, DecisionInput("approve"))),
        threading.Thread(target=decide, args=(bob, DecisionInput("reject", reason="not now"))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winners = [name for name, value in outcomes.items() if isinstance(value, ReviewItem)]
    losers = [value for value in outcomes.values() if isinstance(value, AlreadyDecided)]
    assert len(winners) == 1 and len(losers) == 1
    assert re.search(rf"already decided.* by {winners[0]} at ", str(losers[0]))
    assert Checkpoint.objects.filter(run=run, source="decision").count() == 1
    run.refresh_from_db()
    assert run.status in ("queued", "rejected")
    assert redis_conn.llen("rq:queue:default") == (1 if run.status == "queued" else 0)


def test_a_double_click_by_the_same_person_changes_nothing(transactional_db, make_user):
    alice = make_user("alice", "reviewer")
    run = run_start(workflow="email_approval", input={"to": "x@example.com", "topic": "launch"})
    run_advance(run.pk, worker="test")
    item = ReviewItem.objects.get(run=run)
    review_decide(item=item, actor=alice, decision=DecisionInput("approve"))
    step = Run.objects.get(pk=run.pk).step
    try:
        review_decide(item=item, actor=alice, decision=DecisionInput("approve"))
    except AlreadyDecided as exc:
        assert re.search(r"already decided.* by alice at ", str(exc))
    else:
        raise AssertionError("the second click was accepted")
    assert Run.objects.get(pk=run.pk).step == step
