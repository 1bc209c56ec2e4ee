"""Token prices and the cost arithmetic, all in Decimal so ledger sums reconcile to the cent.

Pure: the DB-backed price table (Costs → Prices) turns its rows into `Price` and passes them in;
`DEFAULT_PRICES` seeds it. Token convention (see LLMResponse): `input_tokens` counts every prompt
token *including* cached ones, and `cached_tokens` is the subset read from the provider's cache.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from orchestrator.llm.routing import strip_prefix
from orchestrator.llm.tokens import estimate_request_tokens
from orchestrator.llm.types import LLMError, LLMRequest

MICRO_DOLLAR = Decimal("0.000001")
_PER_MTOK = Decimal(1_000_000)
_WILDCARDS = "*?["


@dataclass(frozen=True)
class Price:
    pattern: str  # fnmatch glob on the bare model name, e.g. "gpt-4o-mini*"
    input_per_mtok: Decimal
    output_per_mtok: Decimal
    cached_input_per_mtok: Decimal
    effective_from: date

    def __post_init__(self) -> None:
        # Rows may arrive as str (fixtures, forms); a float would smuggle binary rounding into money.
        for name in ("input_per_mtok", "output_per_mtok", "cached_input_per_mtok"):
            value = getattr(self, name)
            if isinstance(value, float):
                raise TypeError(f"Price.{name} must be a Decimal or str, not float ({value!r})")
            if not isinstance(value, Decimal):
                object.__setattr__(self, name, Decimal(str(value)))

    @property
    def specificity(self) -> tuple[int, int, int]:
        """Longest literal prefix first; then fewer wildcards, so an exact name beats `name*`."""
        cut = min((i for i, ch in enumerate(self.pattern) if ch in _WILDCARDS), default=len(self.pattern))
        wildcards = sum(1 for ch in self.pattern if ch in _WILDCARDS)
        return cut, -wildcards, len(self.pattern) - wildcards


class UnpricedModelError(LLMError):
    retryable = False

    def __init__(self, model: str) -> None:
        super().__init__(
            f"no price for model {model}: add it to the price table (Costs → Prices) or allow unpriced models"
        )
        self.model = model


def _p(pattern: str, inp: str, out: str, cached: str, since: str) -> Price:
    return Price(pattern, Decimal(inp), Decimal(out), Decimal(cached), date.fromisoformat(since))


# Public list prices in USD per million tokens (standard tier, no batch discount), as published by
# OpenAI and Anthropic. Patterns are deliberately narrow: a newer model (say gpt-5.4 or claude-opus-4-7)
# must not silently inherit an older sibling's price, it fails closed as unpriced until someone adds
# its row. Anthropic's cache *writes* cost 1.25x input; we bill them as plain input, which
# under-counts slightly and only while a prompt cache is being filled.
DEFAULT_PRICES: list[Price] = [
    # OpenAI
    _p("gpt-4o", "2.50", "10.00", "1.25", "2024-08-06"),
    _p("gpt-4o-2024-*", "2.50", "10.00", "1.25", "2024-08-06"),
    _p("gpt-4o-2024-05-13", "5.00", "15.00", "5.00", "2024-05-13"),
    _p("gpt-4o-mini*", "0.15", "0.60", "0.075", "2024-07-18"),
    _p("gpt-4.1", "2.00", "8.00", "0.50", "2025-04-14"),
    _p("gpt-4.1-2025-*", "2.00", "8.00", "0.50", "2025-04-14"),
    _p("gpt-4.1-mini*", "0.40", "1.60", "0.10", "2025-04-14"),
    _p("gpt-4.1-nano*", "0.10", "0.40", "0.025", "2025-04-14"),
    _p("gpt-5", "1.25", "10.00", "0.125", "2025-08-07"),
    _p("gpt-5-2025-*", "1.25", "10.00", "0.125", "2025-08-07"),
    _p("gpt-5-mini*", "0.25", "2.00", "0.025", "2025-08-07"),
    _p("gpt-5-nano*", "0.05", "0.40", "0.005", "2025-08-07"),
    _p("o1", "15.00", "60.00", "7.50", "2024-12-17"),
    _p("o1-2024-*", "15.00", "60.00", "7.50", "2024-12-17"),
    _p("o1-preview*", "15.00", "60.00", "7.50", "2024-09-12"),
    _p("o1-mini*", "1.10", "4.40", "0.55", "2024-09-12"),
    _p("o3-mini*", "1.10", "4.40", "0.55", "2025-01-31"),
    # o3 launched at $10/$40 and was cut by 80% on 2025-06-10: two rows, the date picks one.
    _p("o3", "10.00", "40.00", "2.50", "2025-04-16"),
    _p("o3", "2.00", "8.00", "0.50", "2025-06-10"),
    _p("o3-2025-04-16", "10.00", "40.00", "2.50", "2025-04-16"),
    _p("o3-2025-04-16", "2.00", "8.00", "0.50", "2025-06-10"),
    _p("o4-mini*", "1.10", "4.40", "0.275", "2025-04-16"),
    # Anthropic
    _p("claude-3-haiku*", "0.25", "1.25", "0.03", "2024-03-07"),
    _p("claude-3-opus*", "15.00", "75.00", "1.50", "2024-02-29"),
    _p("claude-3-5-haiku*", "0.80", "4.00", "0.08", "2024-10-22"),
    _p("claude-3-5-sonnet*", "3.00", "15.00", "0.30", "2024-06-20"),
    _p("claude-3-7-sonnet*", "3.00", "15.00", "0.30", "2025-02-24"),
    _p("claude-sonnet-4-0", "3.00", "15.00", "0.30", "2025-05-22"),
    _p("claude-sonnet-4-2025*", "3.00", "15.00", "0.30", "2025-05-22"),
    _p("claude-sonnet-4-5*", "3.00", "15.00", "0.30", "2025-09-29"),
    _p("claude-opus-4-0", "15.00", "75.00", "1.50", "2025-05-22"),
    _p("claude-opus-4-2025*", "15.00", "75.00", "1.50", "2025-05-22"),
    _p("claude-opus-4-1*", "15.00", "75.00", "1.50", "2025-08-05"),
    _p("claude-opus-4-5*", "5.00", "25.00", "0.50", "2025-11-24"),
    _p("claude-haiku-4-5*", "1.00", "5.00", "0.10", "2025-10-01"),
    # The offline demo model costs nothing to run, but a nominal price makes demo runs show spend
    # so budgets and the cost pages have something to govern.
    _p("demo*", "0.50", "1.50", "0.25", "2024-01-01"),
]


def find_price(model: str, prices: Iterable[Price], at: date) -> Price | None:
    """The price of `model` on day `at`: the most specific matching pattern, then its latest row ≤ at."""
    name = strip_prefix(model).lower()
    candidates = [
        p for p in prices if p.effective_from <= at and fnmatch.fnmatchcase(name, p.pattern.lower())
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda p: (p.specificity, p.effective_from))


def require_price(model: str, prices: Iterable[Price], at: date) -> Price:
    price = find_price(model, prices, at)
    if price is None:
        raise UnpricedModelError(strip_prefix(model))
    return price


def cost_of(price: Price, input_tokens: int, output_tokens: int, cached_tokens: int = 0) -> Decimal:
    """USD cost, quantized to a millionth of a dollar. Cached tokens are billed once, at the cached rate."""
    uncached = max(0, input_tokens - cached_tokens)
    micro_units = (
        uncached * price.input_per_mtok
        + cached_tokens * price.cached_input_per_mtok
        + output_tokens * price.output_per_mtok
    )
    return (micro_units / _PER_MTOK).quantize(MICRO_DOLLAR, rounding=ROUND_HALF_UP)


def estimate_max_cost(price: Price, request: LLMRequest) -> Decimal:
    """Worst case before the call: the estimated prompt, uncached, plus every allowed output token."""
    return cost_of(price, estimate_request_tokens(request), request.max_tokens, 0)
