"""A run cancelled while a node visit is in progress (its worker busy, or dead after a paid call)
keeps that visit's journaled calls in its totals: the run's cost and call count say what was paid,
as they do for a run cancelled at a gate."""

from __future__ import annotations

import pytest

from orchestrator.executor import run_advance
from orchestrator.models import JournalEntry, Run
from orchestrator.services import run_cancel, run_start
from review.models import ReviewItem
from review.services import DecisionInput, review_decide


def test_the_calls_of_a_visit_its_worker_died_in_are_counted_when_the_run_is_cancelled(db, test_graphs, make_user):
    from tests.orchestrator.graphs import FLAKY, PARSER

    PARSER["broken"], FLAKY["mode"] = False, "crash_after_call"
    run = run_start(workflow="ask_then_flaky")
    assert run_advance(run.pk, worker="test") == "suspended"  # "ask" made its call, counted at its gate
    review_decide(item=ReviewItem.objects.get(run=run), actor=make_user("rita", "reviewer"),
                  decision=DecisionInput("approve"))
    with pytest.raises(KeyboardInterrupt):  # "second" made its call, then its worker died
        run_advance(run.pk, worker="dies")
    FLAKY["mode"] = ""

    run_cancel(run=Run.objects.get(pk=run.pk), reason="stuck, giving up")

    run.refresh_from_db()
    calls = list(JournalEntry.objects.filter(run=run, kind="llm"))
    assert run.status == "cancelled" and len(calls) == 2
    assert (run.llm_calls, run.cost, run.input_tokens) == (
        2, sum(c.cost for c in calls), sum(c.input_tokens for c in calls)), "a paid call is missing from the totals"
