"""Which provider serves a model name, and the bare name to send it.

An explicit `openai:` / `anthropic:` / `demo:` prefix wins, so self-hosted OpenAI-compatible servers
(vLLM, Ollama, LiteLLM) can serve any model name; otherwise well-known name families decide.
"""

from __future__ import annotations

import fnmatch

from orchestrator.llm.types import LLMConfigError

PROVIDERS = ("openai", "anthropic", "demo")
_FAMILIES: tuple[tuple[str, str], ...] = (
    ("demo*", "demo"),
    ("gpt-*", "openai"),
    ("o1*", "openai"),
    ("o3*", "openai"),
    ("o4*", "openai"),
    ("chatgpt*", "openai"),
    ("claude*", "anthropic"),
)


def split_prefix(model: str) -> tuple[str | None, str]:
    """`"openai:my-model"` → `("openai", "my-model")`; an unprefixed name → `(None, name)`."""
    head, sep, rest = model.partition(":")
    if sep and head.lower() in PROVIDERS:
        return head.lower(), rest
    return None, model


def strip_prefix(model: str) -> str:
    return split_prefix(model)[1]


def route(model: str) -> tuple[str, str]:
    """Return `(provider, bare_model)` or raise LLMConfigError for a name no family claims."""
    provider, bare = split_prefix(model)
    if provider:
        if not bare:
            raise LLMConfigError(f"model {model!r} has a provider prefix but no model name after it")
        return provider, bare
    for pattern, family in _FAMILIES:
        if fnmatch.fnmatchcase(model.lower(), pattern):
            return family, model
    raise LLMConfigError(
        f"unknown model {model!r}: Gatehouse cannot tell which provider serves it; "
        "prefix it with openai: or anthropic: (e.g. 'openai:my-vllm-model')"
    )
