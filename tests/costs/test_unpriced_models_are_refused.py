"""A model with no price is refused before it is called (fail closed), with a message saying what to
do — unless an admin allowed unpriced models, and then each such call is flagged in the spend table."""

from __future__ import annotations

from orchestrator.models import CostSettings, SpendEvent
from orchestrator.services import run_start
from orchestrator.spend import prices_invalidate
from tests.fakes.llm_server import FakeLLMServer

MODEL = "openai:my-vllm-model"


def test_an_unpriced_model_fails_the_run_with_a_clear_message_and_no_call(priced, advance,
                                                                         fake_llm: FakeLLMServer):
    run = run_start(workflow="cost_probe", input={"model": MODEL, "calls": 1})
    assert advance(run) == "failed"
    run.refresh_from_db()
    assert run.error["type"] == "UnpricedModelError"
    assert run.error["message"] == (
        "no price for model my-vllm-model: add it to the price table (Costs → Prices) or allow unpriced models")
    assert fake_llm.requests == [], "the provider was never called"
    assert not SpendEvent.objects.exists()


def test_when_an_admin_allows_unpriced_models_the_call_is_made_and_flagged(priced, advance,
                                                                          fake_llm: FakeLLMServer):
    CostSettings.objects.filter(pk=1).update(allow_unpriced=True)
    prices_invalidate()
    run = run_start(workflow="cost_probe", input={"model": MODEL, "calls": 1})
    assert advance(run) == "completed"
    events = SpendEvent.objects.filter(run=run)
    assert events.count() == 2
    assert all(e.unpriced and e.cost == 0 and e.provider == "openai" for e in events)
    assert len(fake_llm.requests) == 2
