"""What both official SDKs' exceptions mean for Gatehouse, and the small helpers both providers use.

The `openai` and `anthropic` SDKs are generated from the same template and expose the same
exception classes (APITimeoutError, RateLimitError, APIStatusError, ...), so one mapping serves
both: pass the SDK module and the provider's names.
"""

from __future__ import annotations

import time
from types import ModuleType

from orchestrator.llm import env
from orchestrator.llm.types import LLMError, RetryableLLMError


def ms_since(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 3)


def sdk_message(exc: BaseException) -> str:
    """The provider's own error message from the response body, else the SDK's."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return inner["message"]
    return getattr(exc, "message", str(exc))


def map_sdk_error(exc: BaseException, *, sdk: ModuleType, provider: str, key_env: str, base_url_env: str,
                  retryable_status: frozenset[int]) -> LLMError:
    """Timeouts, connection errors, rate limits and 5xx become retryable (the node's retry policy
    decides); bad credentials and refused requests do not, and say what to check."""
    if isinstance(exc, sdk.APITimeoutError):
        return RetryableLLMError(f"{provider} request timed out (limit {env.TIMEOUT_ENV}={env.timeout_seconds()}s)")
    if isinstance(exc, sdk.APIConnectionError):
        return RetryableLLMError(f"could not reach the {provider} API ({base_url_env} or default): {exc}")
    if isinstance(exc, sdk.RateLimitError):
        retry_after = exc.response.headers.get("retry-after")
        hint = f"; the provider asks to retry after {retry_after}s" if retry_after else ""
        return RetryableLLMError(f"{provider} rate limit (429): {sdk_message(exc)}{hint}")
    if isinstance(exc, sdk.AuthenticationError | sdk.PermissionDeniedError):
        return LLMError(
            f"{provider} rejected the credentials ({exc.status_code}): {sdk_message(exc)}; check {key_env}",
            retryable=False,
        )
    if isinstance(exc, sdk.APIStatusError):
        if exc.status_code >= 500 or exc.status_code in retryable_status:
            return RetryableLLMError(f"{provider} server error ({exc.status_code}): {sdk_message(exc)}")
        return LLMError(f"{provider} refused the request ({exc.status_code}): {sdk_message(exc)}", retryable=False)
    return LLMError(f"{provider} client error: {exc}", retryable=False)
