"""OpenAI and OpenAI-compatible servers (vLLM, Ollama, LiteLLM...) through the official SDK.

The SDK's own retries are off: the node retry policy owns retries, and a hidden SDK retry would
double-bill and blur the journal. Errors are mapped to retryable / not retryable here.
"""

from __future__ import annotations

import functools
import re
import time

import openai

from orchestrator.llm import env
from orchestrator.llm.sdk_errors import map_sdk_error, ms_since
from orchestrator.llm.tokens import estimate_request_tokens, estimate_tokens
from orchestrator.llm.types import (
    LLMError,
    LLMRequest,
    LLMResponse,
    LLMStreamCutOff,
)

PROVIDER = "openai"
KEY_ENV = "OPENAI_API_KEY"
BASE_URL_ENV = "OPENAI_BASE_URL"
# Reasoning models reject `max_tokens` and any temperature but the default.
_REASONING = re.compile(r"^(o\d|gpt-5)", re.IGNORECASE)
_RETRYABLE_STATUS = frozenset({408, 409, 429})


@functools.lru_cache(maxsize=8)
def _client(api_key: str, base_url: str | None, timeout: float) -> openai.OpenAI:
    # Cached so calls share a connection pool; the key is part of the cache key, so a rotated
    # env var gets a fresh client.
    return openai.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0)


def complete(request: LLMRequest) -> LLMResponse:
    """`request.model` is the bare model name (any `openai:` prefix already stripped)."""
    client = _client(env.required(KEY_ENV, "OpenAI"), env.optional(BASE_URL_ENV), env.timeout_seconds())
    params = _params(request)
    started = time.monotonic()
    try:
        if request.stream:
            return _complete_stream(client, request, params, started)
        completion = client.chat.completions.create(**params)
    except openai.OpenAIError as exc:
        raise map_error(exc) from exc
    choice = completion.choices[0] if completion.choices else None
    usage = completion.usage
    return LLMResponse(
        text=(choice.message.content or "") if choice else "",
        model=request.model,
        provider=PROVIDER,
        input_tokens=usage.prompt_tokens if usage else estimate_request_tokens(request),
        output_tokens=usage.completion_tokens if usage else 0,
        cached_tokens=_cached(usage),
        latency_ms=ms_since(started),
        finish_reason=(choice.finish_reason or "stop") if choice else "stop",
    )


def _params(request: LLMRequest) -> dict:
    params: dict = {
        "model": request.model,
        "messages": [{"role": m["role"], "content": m["content"]} for m in request.messages],
    }
    if _REASONING.match(request.model):
        params["max_completion_tokens"] = request.max_tokens
    else:
        params["max_tokens"] = request.max_tokens
        params["temperature"] = request.temperature
    if request.stream:
        params["stream"] = True
        params["stream_options"] = {"include_usage": True}
    return params


def _complete_stream(client: openai.OpenAI, request: LLMRequest, params: dict, started: float) -> LLMResponse:
    """Accumulate deltas; the usage chunk comes last, so anything that ends the stream before it is a cut-off."""
    stream = client.chat.completions.create(**params)  # errors before the first byte: the caller maps them
    pieces: list[str] = []
    finish_reason: str | None = None
    usage = None
    failure: BaseException | None = None
    try:
        for chunk in stream:
            for choice in chunk.choices:
                if choice.delta and choice.delta.content:
                    pieces.append(choice.delta.content)
                if choice.finish_reason:
                    finish_reason = choice.finish_reason
            if chunk.usage is not None:
                usage = chunk.usage
    except Exception as exc:  # any failure mid-body (reset, read timeout, bad SSE) is a cut-off
        failure = exc
    finally:
        stream.close()

    text = "".join(pieces)
    if usage is not None and failure is None:
        return LLMResponse(
            text=text,
            model=request.model,
            provider=PROVIDER,
            input_tokens=usage.prompt_tokens,
            output_tokens=usage.completion_tokens,
            cached_tokens=_cached(usage),
            latency_ms=ms_since(started),
            finish_reason=finish_reason or "stop",
        )
    partial = LLMResponse(
        text=text,
        model=request.model,
        provider=PROVIDER,
        input_tokens=usage.prompt_tokens if usage else estimate_request_tokens(request),
        output_tokens=usage.completion_tokens if usage else estimate_tokens(text),
        cached_tokens=_cached(usage),
        latency_ms=ms_since(started),
        finish_reason=finish_reason or "cut_off",
        partial=True,
    )
    reason = f"{type(failure).__name__}: {failure}" if failure else "stream ended without a usage chunk"
    raise LLMStreamCutOff(
        f"OpenAI stream for {request.model} cut off after {len(text)} characters ({reason})", partial=partial
    ) from failure


def _cached(usage: object | None) -> int:
    details = getattr(usage, "prompt_tokens_details", None)
    return int(getattr(details, "cached_tokens", 0) or 0)


def map_error(exc: openai.OpenAIError) -> LLMError:
    return map_sdk_error(exc, sdk=openai, provider="OpenAI", key_env=KEY_ENV, base_url_env=BASE_URL_ENV,
                         retryable_status=_RETRYABLE_STATUS)
