"""The request/response shapes shared by the engine, the providers and the cost code.

Pure dataclasses: the engine journals `LLMRequest.canonical()` and `LLMResponse.to_json()`,
so both must stay JSON-able and free of SDK objects.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class LLMRequest:
    model: str
    messages: tuple[dict, ...]
    max_tokens: int = 512
    temperature: float = 0.0
    stream: bool = False

    def __post_init__(self) -> None:
        # Callers often pass a list; a tuple stops the messages changing after the request was journaled.
        if not isinstance(self.messages, tuple):
            object.__setattr__(self, "messages", tuple(self.messages))

    def canonical(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "messages": [{"role": str(m["role"]), "content": str(m["content"])} for m in self.messages],
            "max_tokens": int(self.max_tokens),
            "temperature": float(self.temperature),
            "stream": bool(self.stream),
        }


@dataclass
class LLMResponse:
    text: str
    model: str
    provider: str
    input_tokens: int
    output_tokens: int
    cached_tokens: int = 0
    latency_ms: float = 0.0
    finish_reason: str = "stop"
    partial: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> LLMResponse:
        return cls(
            text=d["text"],
            model=d["model"],
            provider=d["provider"],
            input_tokens=int(d["input_tokens"]),
            output_tokens=int(d["output_tokens"]),
            cached_tokens=int(d.get("cached_tokens", 0)),
            latency_ms=float(d.get("latency_ms", 0.0)),
            finish_reason=d.get("finish_reason", "stop"),
            partial=bool(d.get("partial", False)),
        )


class LLMError(Exception):
    """Base for provider failures; `retryable` tells the node retry policy whether another try can help."""

    retryable: bool = False

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        if retryable is not None:
            self.retryable = retryable


class RetryableLLMError(LLMError):
    """Timeouts, 429s, 5xx and dropped connections: the same request may well succeed later."""

    retryable = True


class LLMConfigError(LLMError):
    """Missing credentials or an unroutable model: retrying cannot fix it, an operator must."""

    retryable = False


class LLMStreamCutOff(LLMError):
    """A stream ended before the provider reported usage.

    `partial` holds the text and (estimated) usage received so far, so the caller can bill it:
    the provider charges for those tokens even though the call failed.
    """

    retryable = True

    def __init__(self, message: str, *, partial: LLMResponse) -> None:
        super().__init__(message)
        self.partial = partial
