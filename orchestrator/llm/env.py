"""Environment reads shared by the HTTP providers, failing with a message that names the variable."""

from __future__ import annotations

import os

from orchestrator.llm.types import LLMConfigError

TIMEOUT_ENV = "GATEHOUSE_LLM_TIMEOUT"
DEFAULT_TIMEOUT_S = 60.0


def required(name: str, provider: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise LLMConfigError(f"{provider} needs an API key: set the {name} environment variable")
    return value


def optional(name: str) -> str | None:
    return os.environ.get(name, "").strip() or None


def timeout_seconds() -> float:
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise LLMConfigError(f"{TIMEOUT_ENV} must be a positive number of seconds, got {raw!r}")
    return value
