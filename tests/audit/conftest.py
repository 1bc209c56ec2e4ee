"""The example ledger the offline verifier tests share (tests/audit/ledger_export_builder.py): three
interleaved runs and two seals, signed across a key rotation, and its export."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.audit.ledger_export_builder import EXAMPLE_RUNS, Ledger, build_ledger, export_lines


@pytest.fixture(scope="module")
def keys() -> tuple[Ed25519PrivateKey, Ed25519PrivateKey]:
    return Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def ledger(keys: tuple[Ed25519PrivateKey, Ed25519PrivateKey]) -> Ledger:
    # Seal 1 signed by the old key, seal 2 by the new one: the export spans a key rotation.
    return build_ledger(EXAMPLE_RUNS, seal_sizes=[10, 22], keys=list(keys))


@pytest.fixture(scope="module")
def lines(ledger: Ledger) -> list[bytes]:
    return export_lines(ledger)


@pytest.fixture(scope="module")
def public_keys(keys: tuple[Ed25519PrivateKey, Ed25519PrivateKey]) -> list:
    return [key.public_key() for key in keys]


# What retention wrote to the system chain when it pruned T-3 (audit/retention.py), after an unrelated
# system entry: the export includes the system chain only in part.
PRUNE_RECORD = ("retention_pruned", {"runs": ["T-3"], "entries": 7, "checkpoints": 7, "retention_days": {"demo": 395}})
EXPORT_RECORD = ("export", {"format": "jsonl", "scope": {}, "runs": 3, "entries": 28})


@pytest.fixture(scope="module")
def pruned_ledger(keys: tuple[Ed25519PrivateKey, Ed25519PrivateKey]) -> Ledger:
    """The example ledger once retention pruned T-3: the system chain's export and retention_pruned entries
    follow the runs' 28 entries, and seal 3 covers them all."""
    return build_ledger(EXAMPLE_RUNS, seal_sizes=[10, 22, 30], keys=list(keys), system=[EXPORT_RECORD, PRUNE_RECORD])
