"""The real openai/anthropic SDKs, over real loopback HTTP, against the fake provider server."""

from __future__ import annotations

import pytest

from orchestrator import llm
from orchestrator.llm import (
    LLMConfigError,
    LLMError,
    LLMRequest,
    LLMStreamCutOff,
    RetryableLLMError,
)
from tests.fakes.llm_server import FakeLLMServer

REPLY = "The invoice is late because the vendor changed banks last week."
MESSAGES = (
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Why is the invoice late?"},
)


def ask(model: str, *, stream: bool = False, max_tokens: int = 64) -> llm.LLMResponse:
    return llm.complete(LLMRequest(model=model, messages=MESSAGES, max_tokens=max_tokens, stream=stream))


# --- OpenAI -------------------------------------------------------------------------------------------


def test_openai_non_stream_reports_usage_and_cached_tokens(fake_llm: FakeLLMServer) -> None:
    fake_llm.reply_text = REPLY
    fake_llm.set_usage(input_tokens=1200, output_tokens=13, cached_tokens=1024)

    response = ask("gpt-4o-mini")

    assert response.text == REPLY
    assert (response.provider, response.model) == ("openai", "gpt-4o-mini")
    assert (response.input_tokens, response.output_tokens, response.cached_tokens) == (1200, 13, 1024)
    assert response.finish_reason == "stop" and not response.partial
    sent = fake_llm.last_request
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer test-key"
    assert sent.body["max_tokens"] == 64
    assert sent.body["messages"] == list(MESSAGES)
    assert "stream" not in sent.body


def test_openai_stream_takes_usage_from_the_final_chunk(fake_llm: FakeLLMServer) -> None:
    fake_llm.reply_text = REPLY
    fake_llm.set_usage(input_tokens=40, output_tokens=13, cached_tokens=8)

    response = ask("gpt-4o-mini", stream=True)

    assert response.text == REPLY
    assert (response.input_tokens, response.output_tokens, response.cached_tokens) == (40, 13, 8)
    assert not response.partial
    assert fake_llm.last_request.body["stream"] is True
    assert fake_llm.last_request.body["stream_options"] == {"include_usage": True}


def test_a_cut_off_openai_stream_bills_what_was_received(fake_llm: FakeLLMServer) -> None:
    fake_llm.reply_text = REPLY
    fake_llm.cut_stream_after = 4

    with pytest.raises(LLMStreamCutOff) as caught:
        ask("gpt-4o-mini", stream=True)

    cut = caught.value
    assert cut.retryable
    assert cut.partial.partial
    assert cut.partial.text == "The invoice is late "
    assert cut.partial.output_tokens > 0
    assert cut.partial.input_tokens == llm.estimate_request_tokens(LLMRequest("gpt-4o-mini", MESSAGES))


def test_openai_rate_limit_is_retryable_and_the_sdk_does_not_retry_it_itself(fake_llm: FakeLLMServer) -> None:
    fake_llm.rate_limit_next = 1

    with pytest.raises(RetryableLLMError, match="429") as caught:
        ask("gpt-4o-mini")

    assert caught.value.retryable
    assert len(fake_llm.requests) == 1  # max_retries=0: the node retry policy owns retries
    assert ask("gpt-4o-mini").text  # the limit has passed


def test_openai_server_error_is_retryable(fake_llm: FakeLLMServer) -> None:
    fake_llm.fail_next = 1
    with pytest.raises(RetryableLLMError, match="500"):
        ask("gpt-4o-mini")


def test_openai_timeout_is_retryable(fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEHOUSE_LLM_TIMEOUT", "0.3")
    fake_llm.delay = 2.0

    with pytest.raises(RetryableLLMError, match="timed out"):
        ask("gpt-4o-mini")


def test_a_bad_openai_key_is_not_retryable_and_names_the_env_var(
    fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "wrong")
    with pytest.raises(LLMError, match="OPENAI_API_KEY") as caught:
        ask("gpt-4o-mini")
    assert not caught.value.retryable
    assert not isinstance(caught.value, RetryableLLMError)


def test_reasoning_models_get_max_completion_tokens_and_no_temperature(fake_llm: FakeLLMServer) -> None:
    ask("o3-mini", max_tokens=99)
    body = fake_llm.last_request.body
    assert body["max_completion_tokens"] == 99
    assert "max_tokens" not in body and "temperature" not in body


# --- Anthropic ----------------------------------------------------------------------------------------


def test_anthropic_non_stream_sends_system_apart_and_normalises_usage(fake_llm: FakeLLMServer) -> None:
    fake_llm.reply_text = REPLY
    fake_llm.set_usage(input_tokens=3000, output_tokens=13, cached_tokens=2048)

    response = ask("claude-haiku-4-5")

    assert response.text == REPLY
    assert (response.provider, response.model) == ("anthropic", "claude-haiku-4-5")
    # Anthropic reports cache reads apart from input_tokens; we count them inside input_tokens.
    assert (response.input_tokens, response.output_tokens, response.cached_tokens) == (3000, 13, 2048)
    assert response.finish_reason == "stop"
    sent = fake_llm.last_request
    assert sent.path == "/v1/messages"
    assert sent.body["system"] == "You are terse."
    assert sent.body["messages"] == [{"role": "user", "content": "Why is the invoice late?"}]
    assert sent.body["max_tokens"] == 64


def test_anthropic_stream_reads_usage_from_start_and_delta_events(fake_llm: FakeLLMServer) -> None:
    fake_llm.reply_text = REPLY
    fake_llm.set_usage(input_tokens=50, output_tokens=13, cached_tokens=0)

    response = ask("claude-opus-4-5", stream=True)

    assert response.text == REPLY
    assert (response.input_tokens, response.output_tokens) == (50, 13)
    assert not response.partial
    assert fake_llm.last_request.body["stream"] is True
    assert fake_llm.last_request.body["system"] == "You are terse."


def test_a_cut_off_anthropic_stream_keeps_the_input_usage_it_received(fake_llm: FakeLLMServer) -> None:
    fake_llm.reply_text = REPLY
    fake_llm.set_usage(input_tokens=50)
    fake_llm.cut_stream_after = 3

    with pytest.raises(LLMStreamCutOff) as caught:
        ask("claude-haiku-4-5", stream=True)

    partial = caught.value.partial
    assert partial.text == "The invoice is "
    assert partial.input_tokens == 50  # from message_start, which arrived before the cut
    assert partial.output_tokens == llm.estimate_tokens("The invoice is ")


def test_anthropic_rate_limit_and_timeout_are_retryable(
    fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_llm.rate_limit_next = 1
    with pytest.raises(RetryableLLMError, match="429"):
        ask("claude-haiku-4-5")

    monkeypatch.setenv("GATEHOUSE_LLM_TIMEOUT", "0.3")
    fake_llm.delay = 2.0
    with pytest.raises(RetryableLLMError, match="timed out"):
        ask("claude-haiku-4-5")


# --- configuration and routing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "env_var"), [("gpt-4o-mini", "OPENAI_API_KEY"), ("claude-haiku-4-5", "ANTHROPIC_API_KEY")]
)
def test_a_missing_key_is_a_config_error_naming_the_env_var(
    fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch, model: str, env_var: str
) -> None:
    monkeypatch.delenv(env_var)
    with pytest.raises(LLMConfigError, match=env_var) as caught:
        ask(model)
    assert not caught.value.retryable
    assert fake_llm.requests == []


def test_an_explicit_prefix_wins_and_is_stripped_before_sending(fake_llm: FakeLLMServer) -> None:
    response = ask("openai:my-vllm-model")
    assert response.provider == "openai"
    assert fake_llm.last_request.body["model"] == "my-vllm-model"

    response = ask("anthropic:my-bedrock-claude")
    assert response.provider == "anthropic"
    assert fake_llm.last_request.body["model"] == "my-bedrock-claude"

    response = ask("demo:gpt-4o")
    assert response.provider == "demo"
    assert len(fake_llm.requests) == 2  # the demo model never touches the network


@pytest.mark.parametrize(
    ("model", "provider"),
    [
        ("demo-small", "demo"),
        ("gpt-4.1-mini", "openai"),
        ("o1-preview", "openai"),
        ("o3-mini", "openai"),
        ("o4-mini", "openai"),
        ("chatgpt-4o-latest", "openai"),
        ("claude-opus-4-1", "anthropic"),
        ("claude-3-5-haiku-latest", "anthropic"),
        ("OpenAI:Qwen/Qwen2.5-7B", "openai"),
    ],
)
def test_models_route_by_family(model: str, provider: str) -> None:
    assert llm.route(model)[0] == provider


def test_an_unknown_model_says_how_to_route_it() -> None:
    with pytest.raises(LLMConfigError, match="prefix it with openai: or anthropic:"):
        ask("llama-3.1-8b")


@pytest.mark.parametrize("model", ["gpt-4o-mini", "claude-haiku-4-5"])
def test_a_rate_limit_before_a_stream_starts_is_a_plain_retryable_error(
    fake_llm: FakeLLMServer, model: str
) -> None:
    fake_llm.rate_limit_next = 1
    with pytest.raises(RetryableLLMError, match="429") as caught:
        ask(model, stream=True)
    assert not isinstance(caught.value, LLMStreamCutOff)  # nothing was streamed, nothing to bill


@pytest.mark.parametrize("model", ["gpt-4o-mini", "claude-haiku-4-5"])
def test_a_stream_that_stalls_past_the_timeout_is_a_cut_off(
    fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch, model: str
) -> None:
    monkeypatch.setenv("GATEHOUSE_LLM_TIMEOUT", "0.3")
    fake_llm.chunk_delay = 1.0
    with pytest.raises(LLMStreamCutOff) as caught:
        ask(model, stream=True)
    assert caught.value.retryable
    assert caught.value.partial.text == ""
    assert caught.value.partial.input_tokens > 0
