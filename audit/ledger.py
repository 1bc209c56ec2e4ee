"""Building ledger entries. Hashing itself lives in audit/chain.py (shared with the verifier).

Entries carry digests and non-personal metadata only; the payloads they describe live in the
checkpoints and journal, so erasing a payload later leaves every hash verifiable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from audit.canonical import canonical_json, payload_digest
from audit.chain import entry_hash


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
        entry = {
            "run": self.chain,
            "seq_run": self.length + 1,
            "kind": kind,
            "step": step,
            "actor": actor,
            "at": at or utc_now_iso(),
            "payload": payload,
        }
        digest = entry_hash(entry, self.head)
        row = {**entry, "payload": canonical_json(payload).decode(), "prev": self.head, "hash": digest}
        self.length += 1
        self.head = digest
        return row
