"""A streamed call cut off mid-way is billed for what was received: the spend table, the budget and
the run all count the partial tokens, and its hold is freed."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Sum

from orchestrator.llm.pricing import cost_of
from orchestrator.models import BudgetReservation, BudgetUsage, SpendEvent
from orchestrator.services import run_start
from orchestrator.spend import price_for
from tests.fakes.llm_server import FakeLLMServer


def test_a_cut_off_openai_stream_is_billed_for_the_tokens_received(priced, advance, make_budget,
                                                                  fake_llm: FakeLLMServer):
    budget = make_budget(cap="5.00")
    fake_llm.reply_text = "one two three four five six seven eight nine ten eleven twelve"
    fake_llm.cut_stream_after = 4
    run = run_start(workflow="cost_probe", input={"model": "gpt-4o-mini", "calls": 1, "stream": True})
    assert advance(run) == "failed", "the cut is retried by the node's policy, then the run fails"
    run.refresh_from_db()

    partials = list(SpendEvent.objects.filter(run=run))
    assert partials and all(e.partial for e in partials)
    assert len(partials) == run.error["attempts"], "every attempt's partial stream is billed"
    price = price_for("gpt-4o-mini")
    for event in partials:
        assert event.output_tokens > 0, "the words received before the cut are billed"
        assert event.cost == cost_of(price, event.input_tokens, event.output_tokens, event.cached_tokens)
        assert event.cost > 0
    total = SpendEvent.objects.filter(run=run).aggregate(s=Sum("cost"))["s"]
    assert BudgetUsage.objects.get(budget=budget).spent == total
    assert run.cost == total
    assert BudgetUsage.objects.get(budget=budget).reserved == Decimal(0)
    assert not BudgetReservation.objects.exists()
