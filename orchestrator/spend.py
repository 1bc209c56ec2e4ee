"""Prices for LLM calls, read from the price table (Costs → Prices). Fail closed: a model with no
price is refused before it is called, unless an admin allowed unpriced models (then it costs 0 and
every such call is flagged `unpriced` in the spend table).

Each process caches the table for GATEHOUSE_PRICE_CACHE_SECONDS (default 5 s): a price edit reaches
every worker within that time, and a call costs no query. An empty table (never seeded — e.g. a
test database after a flush) falls back to DEFAULT_PRICES rather than refusing everything.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from django.conf import settings

from orchestrator.llm import LLMResponse
from orchestrator.llm.pricing import DEFAULT_PRICES, Price, UnpricedModelError, find_price
from orchestrator.llm.pricing import cost_of as _cost_of
from orchestrator.llm.routing import strip_prefix

UNPRICED_PATTERN = "(unpriced)"
UNPRICED = Price(UNPRICED_PATTERN, Decimal(0), Decimal(0), Decimal(0), date(1970, 1, 1))


@dataclass(frozen=True)
class PriceTable:
    prices: list[Price]
    allow_unpriced: bool
    loaded_at: float


_cache: PriceTable | None = None


def price_table() -> PriceTable:
    global _cache
    ttl = getattr(settings, "GATEHOUSE_PRICE_CACHE_SECONDS", 5)
    if _cache is None or time.monotonic() - _cache.loaded_at > ttl:
        from orchestrator.models import CostSettings, ModelPrice

        rows = list(ModelPrice.objects.values_list(
            "pattern", "input_per_mtok", "output_per_mtok", "cached_input_per_mtok", "effective_from"))
        prices = [Price(*row) for row in rows] or list(DEFAULT_PRICES)
        allow = CostSettings.objects.filter(pk=1).values_list("allow_unpriced", flat=True).first() or False
        _cache = PriceTable(prices, bool(allow), time.monotonic())
    return _cache


def prices_invalidate() -> None:
    """Forget the cached table (this process); other processes pick up changes within the TTL."""
    global _cache
    _cache = None


def price_for(model: str) -> Price:
    table = price_table()
    price = find_price(strip_prefix(model), table.prices, datetime.now(UTC).date())
    if price is not None:
        return price
    if table.allow_unpriced:
        return UNPRICED
    raise UnpricedModelError(strip_prefix(model))


def is_unpriced(price: Price) -> bool:
    return price.pattern == UNPRICED_PATTERN


def cost_of(price: Price, response: LLMResponse) -> Decimal:
    return _cost_of(price, response.input_tokens, response.output_tokens, response.cached_tokens)
