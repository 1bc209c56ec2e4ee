"""Cost arithmetic: Decimal-exact, most specific price wins, prices change on their effective date."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from orchestrator.llm import LLMRequest, estimate_request_tokens
from orchestrator.llm.pricing import (
    DEFAULT_PRICES,
    Price,
    UnpricedModelError,
    cost_of,
    estimate_max_cost,
    find_price,
    require_price,
)

DAY = date(2026, 1, 1)


def price(
    pattern: str, inp: str = "1", out: str = "2", cached: str = "0.5", since: str = "2025-01-01"
) -> Price:
    return Price(pattern, Decimal(inp), Decimal(out), Decimal(cached), date.fromisoformat(since))


def test_an_unpriced_model_is_refused_with_a_message_saying_what_to_do() -> None:
    with pytest.raises(UnpricedModelError) as caught:
        require_price("openai:my-vllm-model", DEFAULT_PRICES, DAY)
    assert str(caught.value) == (
        "no price for model my-vllm-model: add it to the price table (Costs → Prices) or allow unpriced models"
    )
    assert not caught.value.retryable
    assert find_price("my-vllm-model", DEFAULT_PRICES, DAY) is None


def test_the_most_specific_pattern_wins_whatever_the_order() -> None:
    broad, narrow, exact = (
        price("gpt-4o*", "2.50"),
        price("gpt-4o-mini*", "0.15"),
        price("gpt-4o-mini", "0.10"),
    )
    for prices in ([broad, narrow, exact], [exact, narrow, broad]):
        assert find_price("gpt-4o-2024-08-06", prices, DAY) is broad
        assert find_price("gpt-4o-mini-2024-07-18", prices, DAY) is narrow
        assert find_price("gpt-4o-mini", prices, DAY) is exact  # an exact name beats `name*`


def test_the_price_in_force_on_the_day_is_used() -> None:
    launch = price("o3", "10.00", "40.00", since="2025-04-16")
    cut = price("o3", "2.00", "8.00", since="2025-06-10")
    prices = [cut, launch]
    assert find_price("o3", prices, date(2025, 4, 15)) is None  # before launch
    assert find_price("o3", prices, date(2025, 6, 9)) is launch
    assert find_price("o3", prices, date(2025, 6, 10)) is cut
    assert find_price("o3", prices, DAY) is cut


def test_a_specific_pattern_not_yet_in_force_does_not_shadow_a_broad_one() -> None:
    broad = price("claude*", "3", since="2024-01-01")
    future = price("claude-new*", "9", since="2027-01-01")
    assert find_price("claude-new-1", [broad, future], DAY) is broad


def test_provider_prefixes_are_ignored_when_pricing() -> None:
    assert find_price("anthropic:claude-haiku-4-5", DEFAULT_PRICES, DAY) is find_price(
        "claude-haiku-4-5", DEFAULT_PRICES, DAY
    )


def test_cached_tokens_are_billed_at_the_cached_rate_and_not_again_as_input() -> None:
    p = price("m", inp="2.50", out="10.00", cached="1.25")
    # 1000 fresh input, 1000 cached, 100 output:
    # 1000 * 2.50 + 1000 * 1.25 + 100 * 10.00 = 4750 per Mtok → $0.004750
    assert cost_of(p, input_tokens=2000, output_tokens=100, cached_tokens=1000) == Decimal("0.004750")
    assert cost_of(p, input_tokens=2000, output_tokens=100) == Decimal("0.006000")


def test_costs_are_exact_decimals_quantized_to_a_millionth() -> None:
    p = price("m", inp="0.15", out="0.60", cached="0.075")
    total = sum((cost_of(p, 1, 1, 0) for _ in range(1000)), Decimal(0))
    assert cost_of(p, 1, 1, 0) == Decimal("0.000001")  # 0.00000075 rounds half up
    assert total == Decimal("0.001000")
    assert cost_of(p, 1_000_000, 1_000_000, 0) == Decimal("0.750000")
    assert cost_of(p, 0, 0, 0) == Decimal("0.000000")
    assert cost_of(p, 10, 10).as_tuple().exponent == -6


def test_prices_refuse_floats_but_accept_strings() -> None:
    with pytest.raises(TypeError, match="float"):
        Price("m", 0.1, Decimal(1), Decimal(1), DAY)  # type: ignore[arg-type]
    assert Price("m", "0.1", "1", "0.05", DAY).input_per_mtok == Decimal("0.1")  # type: ignore[arg-type]


def test_the_maximum_cost_assumes_every_allowed_output_token() -> None:
    p = price("demo*", inp="0.50", out="1.50")
    request = LLMRequest(
        "demo-small", ({"role": "user", "content": "Draft an email to the vendor."},), max_tokens=1000
    )
    expected = (estimate_request_tokens(request) * Decimal("0.50") + 1000 * Decimal("1.50")) / 1_000_000
    assert estimate_max_cost(p, request) == expected.quantize(Decimal("0.000001"))


@pytest.mark.parametrize(
    "model",
    [
        "gpt-4o",
        "gpt-4o-mini",
        "gpt-4.1",
        "gpt-4.1-mini",
        "o3-mini",
        "claude-3-5-sonnet-latest",
        "claude-3-5-haiku-latest",
        "claude-sonnet-4-20250514",
        "claude-opus-4-20250514",
        "demo-small",
    ],
)
def test_common_models_have_a_default_price(model: str) -> None:
    found = require_price(model, DEFAULT_PRICES, DAY)
    assert found.input_per_mtok > 0 and found.output_per_mtok > found.input_per_mtok


def test_newer_siblings_do_not_inherit_an_old_price() -> None:
    assert find_price("claude-opus-4-5", DEFAULT_PRICES, DAY).input_per_mtok == Decimal("5.00")
    assert find_price("claude-opus-4-20250514", DEFAULT_PRICES, DAY).input_per_mtok == Decimal("15.00")
    assert find_price("gpt-5.4", DEFAULT_PRICES, DAY) is None
