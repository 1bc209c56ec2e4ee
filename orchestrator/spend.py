"""Prices for LLM calls. Fail closed: a model with no price is refused before it is called."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from orchestrator.llm import LLMResponse
from orchestrator.llm.pricing import DEFAULT_PRICES, Price, require_price
from orchestrator.llm.pricing import cost_of as _cost_of
from orchestrator.llm.routing import strip_prefix


def price_for(model: str) -> Price:
    return require_price(strip_prefix(model), DEFAULT_PRICES, datetime.now(UTC).date())


def cost_of(price: Price, response: LLMResponse) -> Decimal:
    return _cost_of(price, response.input_tokens, response.output_tokens, response.cached_tokens)
