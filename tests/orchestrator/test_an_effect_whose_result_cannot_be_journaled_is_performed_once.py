"""An effect that ran but returned something the journal cannot hold (a date, an object) fails its node
at once, saying the effect ran and under which idempotency key: the node's retries used to perform it
again each time (three meetings booked, three e-mails sent), since nothing recorded that it had run."""

from __future__ import annotations

from orchestrator.executor import run_advance
from orchestrator.models import Run
from orchestrator.services import run_start
from tests.orchestrator import graphs


def test_the_effect_is_performed_once_and_the_failure_says_it_ran(transactional_db, test_graphs):
    graphs.BOOKED.clear()
    run = run_start(workflow="books_a_meeting")
    assert run_advance(run.pk, worker="test") == "failed"

    key = f"{run.thread_id}:0:0:book_meeting"
    performed_with = graphs.BOOKED
    assert performed_with == [key]
    run = Run.objects.get(pk=run.pk)
    assert run.error["type"] == "EffectResultNotJournaled" and run.error["attempts"] == 1
    message = run.error["message"]
    assert "at effect 'book_meeting' result: date" in message
    assert f"The effect itself ran (idempotency key {key!r}) and is not run again by the node's retries" in message
