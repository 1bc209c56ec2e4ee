"""Building ledger entries. Hashing itself lives in audit/chain.py (shared with the verifier).

Entries carry digests and non-personal metadata only; the payloads they describe live in the
checkpoints and journal, so erasing a payload later leaves every hash verifiable.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from typing import Any

from audit.canonical import canonical_text, payload_digest

_second: tuple[int, str] = (-1, "")


def utc_now_iso() -> str:
    """Now in UTC as ``2025-06-01T12:00:00.123456Z`` (what entries hash and store as ``at``)."""
    global _second
    micros = time.time_ns() // 1000
    second, fraction = divmod(micros, 1_000_000)
    cached, prefix = _second  # one tuple, so threads never pair a second with another's prefix
    if cached != second:
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _second = (second, prefix)
    return f"{prefix}.{fraction:06d}Z"


def salted_digest(value: Any, salt: str) -> str:
    return payload_digest(value, salt=salt)


@dataclass
class ChainCursor:
    """The head of one chain as a writer holding its lock or lease sees it."""

    chain: str
    length: int
    head: str
    _chain_json: str = field(default="", repr=False, compare=False)

    def append(self, *, kind: str, step: int | None, actor: str | None, payload: dict[str, Any],
               at: str | None = None) -> dict[str, Any]:
        return self._chain(kind, step, actor, at or utc_now_iso(), canonical_text(payload))

    def append_step(self, *, step: int, salt: str, node: str, attempt: int, state_hash: str, delta: str,
                    next: str, models: list[str], input_tokens: int, output_tokens: int, cost: str,
                    duration_ms: float) -> dict[str, Any]:
        """append() of a step's node_completed entry, whose payload is

            {"node", "attempt", "input": payload_digest(state_hash, salt=salt),
             "output": payload_digest(delta, salt=salt), "next", "models", "input_tokens",
             "output_tokens", "cost", "duration_ms"}

        Every step writes one, between two waits on the database, so it runs on a cold CPU cache
        and each Python call counts: the payload's JSON comes from a fixed template (the keys in
        code-point order, one type each) instead of the generic encoder's key walk and sort:
        17–23 µs between real commits, against 31–36 by append(). `state_hash` and `delta` are str
        (the executor's state hash and delta JSON); in the other fields a value of another type (a
        bool, a Decimal, an int duration) takes the generic encoder, so the bytes are
        canonical_json's either way; tests/audit/test_ledger_writer_matches_canonical_json.py holds
        the two together.
        """
        source, result = payload_digest(state_hash, salt=salt), payload_digest(delta, salt=salt)
        text = None
        if (type(attempt) is int and type(input_tokens) is int and type(output_tokens) is int
                and type(duration_ms) is float and math.isfinite(duration_ms) and type(models) is list):
            try:
                # encode_basestring refuses anything but a str: another type takes the generic path.
                # The digests are "sha256:" + hex: nothing in them to escape.
                text = (f'{{"attempt":{attempt},"cost":{encode_basestring(cost)},"duration_ms":{duration_ms!r},'
                        f'"input":"{source}","input_tokens":{input_tokens},'
                        f'"models":[{",".join(map(encode_basestring, models))}],"next":{encode_basestring(next)},'
                        f'"node":{encode_basestring(node)},"output":"{result}","output_tokens":{output_tokens}}}')
            except TypeError:
                text = None
        if text is None:
            text = canonical_text({"attempt": attempt, "cost": cost, "duration_ms": duration_ms, "input": source,
                                 "input_tokens": input_tokens, "models": models, "next": next, "node": node,
                                 "output": result, "output_tokens": output_tokens})
        return self._chain("node_completed", step, None, utc_now_iso(), text)

    def _chain(self, kind: str, step: int | None, actor: str | None, at: str, text: str) -> dict[str, Any]:
        if not self._chain_json:
            self._chain_json = _scalar(self.chain)
        head = self.head
        # The entry's canonical JSON (audit.chain.entry_hash: sorted keys, no whitespace), assembled
        # around the payload's so the payload is encoded once per step, not twice; one string, one
        # UTF-8 encoding. tests/audit/test_ledger_writer_matches_canonical_json.py holds the two
        # to the same bytes.
        body = (f'{{"actor":{"null" if actor is None else _scalar(actor)},"at":{encode_basestring(at)},'
                f'"kind":{_scalar(kind)},"payload":{text},"prev":{_scalar(head)},"run":{self._chain_json},'
                f'"seq_run":{self.length + 1},"step":{"null" if step is None else _scalar(step)}}}')
        digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
        self.length += 1
        self.head = digest
        return {"run": self.chain, "seq_run": self.length, "kind": kind, "step": step, "actor": actor, "at": at,
                "payload": text, "prev": head, "hash": digest}


def _scalar(value: str | int | None) -> str:
    # canonical_json for the envelope's scalars, without its container checks (hot path).
    if type(value) is str:
        return encode_basestring(value)
    if value is None:
        return "null"
    if type(value) is int:
        return str(value)
    if isinstance(value, str):
        return encode_basestring(value)
    raise TypeError(f"ledger entry fields are str, int or None, not {type(value).__name__}")
