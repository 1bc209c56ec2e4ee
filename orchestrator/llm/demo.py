"""A deterministic offline model, so demos, tests and CI run with no key and no network.

The reply is a pure function of the request: its canonical form is hashed and the hash drives every
choice. Same request → same text; any change to the prompt, model or max_tokens → different text.
Test hooks (markers anywhere in the messages):
  [[demo:fail-rate-limit]]  raise RetryableLLMError, as a provider's 429 would
  [[demo:cut-stream]]       raise LLMStreamCutOff carrying half of the reply as the billed partial
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time

from orchestrator.llm.tokens import estimate_request_tokens, estimate_tokens
from orchestrator.llm.types import LLMRequest, LLMResponse, LLMStreamCutOff, RetryableLLMError

PROVIDER = "demo"
LATENCY_ENV = "GATEHOUSE_DEMO_LLM_LATENCY_MS"
FAIL_RATE_LIMIT_MARKER = "[[demo:fail-rate-limit]]"
CUT_STREAM_MARKER = "[[demo:cut-stream]]"

_OPENERS = (
    "Thanks for the context.",
    "Here is a short overview.",
    "Based on the information provided,",
    "In short,",
    "Looking at the details,",
)
_SUBJECTS = (
    "the team",
    "the proposal",
    "the customer",
    "this change",
    "the current plan",
    "the review",
    "our approach",
    "the timeline",
    "the budget",
    "the first draft",
)
_VERBS = (
    "looks consistent with",
    "should account for",
    "depends on",
    "fits well with",
    "needs to reflect",
    "can build on",
    "raises questions about",
    "supports",
    "clarifies",
    "simplifies",
)
_OBJECTS = (
    "the agreed scope",
    "the open questions",
    "last week's feedback",
    "the main risks",
    "the expected outcome",
    "the next milestone",
    "the approval step",
    "the original request",
    "a careful rollout",
    "the remaining work",
)
_TAILS = (
    ".",
    " before we move on.",
    ", which keeps things simple.",
    " in the coming days.",
    ", as discussed.",
    " without further delay.",
    ", if everyone agrees.",
)
_GREETINGS = ("Hi {name},", "Hello {name},", "Dear {name},")
_NAMES = ("Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey")
_SIGNOFFS = ("Best regards,", "Kind regards,", "Thanks,", "All the best,")
_EMAIL_HINT = re.compile(r"\b(e-?mail|draft (a|an) (reply|message|letter))\b", re.IGNORECASE)
_SUMMARY_HINT = re.compile(r"\b(summari[sz]e|summary|tl;?dr)\b", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z][A-Za-z-]{3,}")
_STOPWORDS = frozenset(
    [
        "this",
        "that",
        "with",
        "from",
        "about",
        "please",
        "write",
        "draft",
        "email",
        "reply",
        "summary",
        "summarize",
        "into",
        "their",
        "there",
        "have",
        "what",
        "which",
        "would",
        "could",
        "should",
        "your",
        "they",
        "them",
    ]
)


class _Stream:
    """An endless, reproducible stream of choices derived from one seed."""

    def __init__(self, seed: bytes) -> None:
        self._seed = seed
        self._counter = 0

    def below(self, n: int) -> int:
        self._counter += 1
        digest = hashlib.sha256(self._seed + self._counter.to_bytes(8, "big")).digest()
        return int.from_bytes(digest[:8], "big") % n

    def pick(self, options: tuple[str, ...]) -> str:
        return options[self.below(len(options))]


def complete(request: LLMRequest) -> LLMResponse:
    everything = "\n".join(str(m.get("content", "")) for m in request.messages)
    if FAIL_RATE_LIMIT_MARKER in everything:
        raise RetryableLLMError(
            f"demo model: simulated rate limit (prompt contains {FAIL_RATE_LIMIT_MARKER})"
        )

    delay_ms = _latency_ms()
    if delay_ms:
        time.sleep(delay_ms / 1000)

    seed = hashlib.sha256(json.dumps(request.canonical(), sort_keys=True).encode()).digest()
    text, finish_reason = _compose(_Stream(seed), _last_user_message(request), request.max_tokens)
    response = LLMResponse(
        text=text,
        model=request.model,
        provider=PROVIDER,
        input_tokens=estimate_request_tokens(request),
        output_tokens=estimate_tokens(text),
        # The configured delay, not a measurement: the whole response stays a function of the request.
        latency_ms=delay_ms,
        finish_reason=finish_reason,
    )
    if CUT_STREAM_MARKER in everything:
        half = text[: len(text) // 2]
        response.text, response.output_tokens, response.partial = half, estimate_tokens(half), True
        raise LLMStreamCutOff("demo model: simulated stream cut-off", partial=response)
    return response


def _latency_ms() -> float:
    raw = os.environ.get(LATENCY_ENV, "").strip()
    if not raw:
        return 0.0
    try:
        return max(0.0, float(raw))
    except ValueError as exc:
        raise ValueError(f"{LATENCY_ENV} must be a number of milliseconds, got {raw!r}") from exc


def _last_user_message(request: LLMRequest) -> str:
    for message in reversed(request.messages):
        if message.get("role") == "user":
            return str(message.get("content", ""))
    return ""


def _topic(prompt: str) -> str | None:
    # Echoing one word of the prompt makes replies feel related to it without any real modelling.
    words = [w for w in _WORD.findall(prompt) if w.lower() not in _STOPWORDS]
    return max(words, key=len).lower() if words else None


def _sentence(rng: _Stream, topic: str | None) -> str:
    subject = rng.pick(_SUBJECTS)
    if topic and rng.below(3) == 0:
        subject = f"the {topic} work"
    return f"{subject[0].upper()}{subject[1:]} {rng.pick(_VERBS)} {rng.pick(_OBJECTS)}{rng.pick(_TAILS)}"


def _compose(rng: _Stream, prompt: str, max_tokens: int) -> tuple[str, str]:
    topic = _topic(prompt)
    target = 30 + rng.below(90)  # tokens: varied but short, so demo costs stay readable
    body: list[str] = [rng.pick(_OPENERS)]
    while estimate_tokens(" ".join(body)) < target:
        body.append(_sentence(rng, topic))
    # "In short," runs on into the sentence after it (a summary's bullets keep their capitals).
    run_on = [body[0], body[1][0].lower() + body[1][1:], *body[2:]] if body[0].endswith(",") else body
    prose = " ".join(run_on)

    if _EMAIL_HINT.search(prompt):
        subject = f"Subject: Update on {topic or 'our plan'}"
        text = (
            f"{subject}\n\n{rng.pick(_GREETINGS).format(name=rng.pick(_NAMES))}\n\n{prose}\n\n"
            f"{rng.pick(_SIGNOFFS)}\nThe Gatehouse demo model"
        )
    elif _SUMMARY_HINT.search(prompt):
        text = "Summary:\n" + "\n".join(f"- {s.rstrip('.')}" for s in body[1:4] or body)
    else:
        text = prose
    return _truncate(text, max_tokens)


def _truncate(text: str, max_tokens: int) -> tuple[str, str]:
    if estimate_tokens(text) <= max_tokens:
        return text, "stop"
    words = text.split(" ")
    # Drop words from the end until the estimate fits: a real model stops mid-sentence too.
    while words and estimate_tokens(" ".join(words)) > max_tokens:
        words.pop()
    return " ".join(words), "length"
