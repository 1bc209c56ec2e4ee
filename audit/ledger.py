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

# Copied, never updated itself: hashlib.sha256() looks the algorithm up in OpenSSL 3's method
# store on every call, copy() does not (a measurable share of a step's ledger cost, see append_step).
_SHA256 = hashlib.sha256()

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
    # (salt, SHA-256 already fed that salt): a run's steps all digest their payloads with its salt.
    _salted: tuple[str | None, Any] = field(default=("", None), repr=False, compare=False)

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
        and each Python call counts (bench/ledger_db.py): the payload's and the entry's JSON come
        from fixed templates (keys in code-point order, one type each) in one function, instead of
        the generic encoder's key walk and sort, and the digests start from SHA-256 objects copied
        rather than made (see _SHA256), the run's salt already fed in. `state_hash` and `delta` are
        str (the executor's state hash and delta JSON); a value of another type anywhere takes the
        generic writer, so the bytes are canonical_json's either way;
        tests/audit/test_ledger_writer_matches_canonical_json.py holds the two together.
        """
        # The types the templates print as canonical JSON would; encode_basestring refuses anything
        # but a str (TypeError). Any other type takes the generic writer, with its bytes and refusals.
        if (type(step) is int and type(attempt) is int and type(input_tokens) is int
                and type(output_tokens) is int and type(duration_ms) is float and math.isfinite(duration_ms)
                and type(models) is list):
            try:
                salted = self._salted
                if salted[1] is None or salted[0] != salt:
                    salted = self._salted = (salt, _SHA256.copy())
                    if salt:
                        salted[1].update(salt.encode("utf-8"))
                source = salted[1].copy()
                source.update(encode_basestring(state_hash).encode("utf-8"))
                result = salted[1].copy()
                result.update(encode_basestring(delta).encode("utf-8"))
                if not self._chain_json:
                    self._chain_json = _scalar(self.chain)
                head, seq, at = self.head, self.length + 1, utc_now_iso()
                # The digests are "sha256:" + hex and `at` is digits: nothing in them to escape.
                text = (f'{{"attempt":{attempt},"cost":{encode_basestring(cost)},"duration_ms":{duration_ms!r},'
                        f'"input":"sha256:{source.hexdigest()}","input_tokens":{input_tokens},'
                        f'"models":[{",".join(map(encode_basestring, models))}],"next":{encode_basestring(next)},'
                        f'"node":{encode_basestring(node)},"output":"sha256:{result.hexdigest()}",'
                        f'"output_tokens":{output_tokens}}}')
                # _chain's envelope with this entry's kind and no actor.
                body = (f'{{"actor":null,"at":"{at}","kind":"node_completed","payload":{text},'
                        f'"prev":{encode_basestring(head)},"run":{self._chain_json},"seq_run":{seq},"step":{step}}}')
            except TypeError:
                pass
            else:
                hasher = _SHA256.copy()
                hasher.update(body.encode("utf-8"))
                self.length, self.head = seq, hasher.hexdigest()
                return {"run": self.chain, "seq_run": seq, "kind": "node_completed", "step": step, "actor": None,
                        "at": at, "payload": text, "prev": head, "hash": self.head}
        return self.append(kind="node_completed", step=step, actor=None, payload={
            "attempt": attempt, "cost": cost, "duration_ms": duration_ms,
            "input": payload_digest(state_hash, salt=salt), "input_tokens": input_tokens, "models": models,
            "next": next, "node": node, "output": payload_digest(delta, salt=salt), "output_tokens": output_tokens})

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
        hasher = _SHA256.copy()
        hasher.update(body.encode("utf-8"))
        self.length += 1
        self.head = hasher.hexdigest()
        return {"run": self.chain, "seq_run": self.length, "kind": kind, "step": step, "actor": actor, "at": at,
                "payload": text, "prev": head, "hash": self.head}


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
