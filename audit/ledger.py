"""Building ledger entries. Hashing itself lives in audit/chain.py (shared with the verifier).

Entries carry digests and non-personal metadata only; the payloads they describe live in the
checkpoints and journal, so erasing a payload later leaves every hash verifiable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any

from audit.canonical import canonical_json, payload_digest, sha256_hex


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def salted_digest(value: Any, salt: str) -> str:
    return payload_digest(value, salt=salt)


@dataclass
class ChainCursor:
    """The head of one chain as a writer holding its lock or lease sees it."""

    chain: str
    length: int
    head: str

    def append(self, *, kind: str, step: int | None, actor: str | None, payload: dict[str, Any],
               at: str | None = None) -> dict[str, Any]:
        at = at or utc_now_iso()
        payload_json = canonical_json(payload)
        # The entry's canonical JSON (audit.chain.entry_hash: sorted keys, no whitespace), assembled
        # around the payload's so the payload is encoded once per step, not twice.
        # tests/audit/test_chain_verification_names_the_tampering.py holds the two to the same bytes.
        body = b'{"actor":%s,"at":%s,"kind":%s,"payload":%s,"prev":%s,"run":%s,"seq_run":%d,"step":%s}' % (
            _scalar(actor), _scalar(at), _scalar(kind), payload_json, _scalar(self.head), _scalar(self.chain),
            self.length + 1, _scalar(step))
        digest = sha256_hex(body)
        row = {"run": self.chain, "seq_run": self.length + 1, "kind": kind, "step": step, "actor": actor, "at": at,
               "payload": payload_json.decode(), "prev": self.head, "hash": digest}
        self.length += 1
        self.head = digest
        return row


def _scalar(value: str | int | None) -> bytes:
    # canonical_json for the envelope's scalars, without its container checks (hot path).
    if isinstance(value, str):
        return encode_basestring(value).encode()
    if value is None:
        return b"null"
    if type(value) is int:
        return b"%d" % value
    raise TypeError(f"ledger entry fields are str, int or None, not {type(value).__name__}")
