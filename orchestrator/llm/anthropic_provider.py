"""Anthropic's Messages API through the official SDK.

Usage is normalised to the OpenAI convention the rest of Gatehouse uses: `input_tokens` counts the
whole prompt (Anthropic reports cache reads and cache writes separately from `input_tokens`), and
`cached_tokens` is the cache-read part of it.
"""

from __future__ import annotations

import functools
import time

import anthropic

from orchestrator.llm import env
from orchestrator.llm.sdk_errors import map_sdk_error, ms_since
from orchestrator.llm.tokens import estimate_request_tokens, estimate_tokens
from orchestrator.llm.types import (
    LLMError,
    LLMRequest,
    LLMResponse,
    LLMStreamCutOff,
)

PROVIDER = "anthropic"
KEY_ENV = "ANTHROPIC_API_KEY"
BASE_URL_ENV = "ANTHROPIC_BASE_URL"
_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls"}
_RETRYABLE_STATUS = frozenset({408, 409, 429, 529})


@functools.lru_cache(maxsize=8)
def _client(api_key: str, base_url: str | None, timeout: float) -> anthropic.Anthropic:
    # max_retries=0: the node retry policy owns retries (see openai_provider).
    return anthropic.Anthropic(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0)


def complete(request: LLMRequest) -> LLMResponse:
    """`request.model` is the bare model name (any `anthropic:` prefix already stripped)."""
    client = _client(env.required(KEY_ENV, "Anthropic"), env.optional(BASE_URL_ENV), env.timeout_seconds())
    params = _params(request)
    started = time.monotonic()
    try:
        if request.stream:
            return _complete_stream(client, request, params, started)
        message = client.messages.create(**params)
    except anthropic.AnthropicError as exc:
        raise map_error(exc) from exc
    text = "".join(block.text for block in message.content if getattr(block, "type", "") == "text")
    input_tokens, cached = _normalise_input(message.usage)
    return LLMResponse(
        text=text,
        model=request.model,
        provider=PROVIDER,
        input_tokens=input_tokens,
        output_tokens=message.usage.output_tokens,
        cached_tokens=cached,
        latency_ms=ms_since(started),
        finish_reason=_FINISH.get(message.stop_reason or "", message.stop_reason or "stop"),
    )


def _params(request: LLMRequest) -> dict:
    # Anthropic takes system prompts as a top-level parameter, not as a message role. No temperature:
    # the installed SDK (2.x) no longer accepts one, and replays come from the journal, not from sampling.
    system = [str(m["content"]) for m in request.messages if m["role"] == "system"]
    params: dict = {
        "model": request.model,
        "max_tokens": request.max_tokens,
        "messages": [
            {"role": m["role"], "content": m["content"]} for m in request.messages if m["role"] != "system"
        ],
    }
    if system:
        params["system"] = "\n\n".join(system)
    return params


def _complete_stream(
    client: anthropic.Anthropic, request: LLMRequest, params: dict, started: float
) -> LLMResponse:
    """Read raw events: message_start carries input usage, message_delta the running output usage,
    message_stop marks a complete reply. Anything that ends the stream before message_stop is a cut-off."""
    stream = client.messages.create(
        **params, stream=True
    )  # errors before the first byte: the caller maps them
    pieces: list[str] = []
    input_tokens: int | None = None
    cached = 0
    output_tokens: int | None = None
    stop_reason: str | None = None
    finished = False
    failure: BaseException | None = None
    try:
        for event in stream:
            if event.type == "message_start":
                input_tokens, cached = _normalise_input(event.message.usage)
                output_tokens = event.message.usage.output_tokens or None
            elif event.type == "content_block_delta" and getattr(event.delta, "type", "") == "text_delta":
                pieces.append(event.delta.text)
            elif event.type == "message_delta":
                stop_reason = event.delta.stop_reason or stop_reason
                output_tokens = event.usage.output_tokens
            elif event.type == "message_stop":
                finished = True
    except Exception as exc:  # any failure mid-body (reset, read timeout, error event) is a cut-off
        failure = exc
    finally:
        stream.close()

    text = "".join(pieces)
    finish_reason = _FINISH.get(stop_reason or "", stop_reason or "stop")
    if finished and failure is None:
        return LLMResponse(
            text=text,
            model=request.model,
            provider=PROVIDER,
            input_tokens=input_tokens if input_tokens is not None else estimate_request_tokens(request),
            output_tokens=output_tokens if output_tokens is not None else estimate_tokens(text),
            cached_tokens=cached,
            latency_ms=ms_since(started),
            finish_reason=finish_reason,
        )
    # message_start's output count is a placeholder (often 1): the text received is a better lower bound.
    partial = LLMResponse(
        text=text,
        model=request.model,
        provider=PROVIDER,
        input_tokens=input_tokens if input_tokens is not None else estimate_request_tokens(request),
        output_tokens=max(output_tokens or 0, estimate_tokens(text)),
        cached_tokens=cached,
        latency_ms=ms_since(started),
        finish_reason=finish_reason if stop_reason else "cut_off",
        partial=True,
    )
    reason = f"{type(failure).__name__}: {failure}" if failure else "stream ended before message_stop"
    raise LLMStreamCutOff(
        f"Anthropic stream for {request.model} cut off after {len(text)} characters ({reason})",
        partial=partial,
    ) from failure


def _normalise_input(usage: object) -> tuple[int, int]:
    fresh = int(getattr(usage, "input_tokens", 0) or 0)
    cache_read = int(getattr(usage, "cache_read_input_tokens", 0) or 0)
    cache_write = int(getattr(usage, "cache_creation_input_tokens", 0) or 0)
    return fresh + cache_read + cache_write, cache_read


def map_error(exc: anthropic.AnthropicError) -> LLMError:
    return map_sdk_error(exc, sdk=anthropic, provider="Anthropic", key_env=KEY_ENV, base_url_env=BASE_URL_ENV,
                         retryable_status=_RETRYABLE_STATUS)
