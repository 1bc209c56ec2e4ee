"""The LLM provider layer behind the engine's `ctx.llm`.

One entry point, `complete(request)`, routes by model name (see routing.py) to the offline demo
model, OpenAI(-compatible) servers or Anthropic. No Django imports: workers, the CLI and tests all
use it the same way.
"""

from __future__ import annotations

import dataclasses

from orchestrator.llm.pricing import (
    DEFAULT_PRICES,
    Price,
    UnpricedModelError,
    cost_of,
    estimate_max_cost,
    find_price,
    require_price,
)
from orchestrator.llm.routing import route, split_prefix, strip_prefix
from orchestrator.llm.tokens import estimate_request_tokens, estimate_tokens
from orchestrator.llm.types import (
    LLMConfigError,
    LLMError,
    LLMRequest,
    LLMResponse,
    LLMStreamCutOff,
    RetryableLLMError,
)

__all__ = [
    "DEFAULT_PRICES",
    "LLMConfigError",
    "LLMError",
    "LLMRequest",
    "LLMResponse",
    "LLMStreamCutOff",
    "Price",
    "RetryableLLMError",
    "UnpricedModelError",
    "complete",
    "cost_of",
    "estimate_max_cost",
    "estimate_request_tokens",
    "estimate_tokens",
    "find_price",
    "require_price",
    "route",
    "split_prefix",
    "strip_prefix",
]


def complete(request: LLMRequest) -> LLMResponse:
    provider, bare = route(request.model)
    sent = dataclasses.replace(request, model=bare) if bare != request.model else request
    # Imported lazily so a deployment that only uses the demo model never loads the SDKs.
    if provider == "demo":
        from orchestrator.llm import demo as backend
    elif provider == "openai":
        from orchestrator.llm import openai_provider as backend
    else:
        from orchestrator.llm import anthropic_provider as backend
    return backend.complete(sent)
