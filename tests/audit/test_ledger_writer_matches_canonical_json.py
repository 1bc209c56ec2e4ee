"""The step commit's ledger writer takes shortcuts (a prebuilt JSON encoder, the entry's JSON
assembled around its payload's, a cached clock prefix). A verifier recomputes every hash from the
stored row with the reference canonical_json: one byte apart and every chain "breaks". These tests
hold the writer to the reference's bytes."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from audit import canonical
from audit.canonical import canonical_json, canonical_text, payload_digest
from audit.chain import entry_hash
from audit.ledger import ChainCursor, utc_now_iso

TRICKY_PAYLOADS = [
    {},
    {"output": "sha256:" + "0" * 64, "models": ["m"], "cost": "0.1", "nested": {"b": 1, "a": [True]}},
    {"z": None, "a": False, "m": -0.0, "f": 1.5e-7, "big": 10**30, "e": 1e16, "d": Decimal("0.000120")},
    {"zoë": "naïve \x00 \u2028 \"quoted\" \\ back", "emoji": "🙂", "tab": "\t\n\r"},
    {"list": [[], {}, [1, [2, [3]]], {"y": {"x": []}}], "tuple": (1, "two")},
    {"B": 1, "a": 2, "_": 3, "é": 4, "A": 5},  # code-point order, not alphabetical
]


@pytest.mark.parametrize("payload", TRICKY_PAYLOADS)
def test_the_writers_payload_bytes_are_canonical_json(payload: dict) -> None:
    assert canonical_text(payload).encode() == canonical_json(payload)
    # The encoder built once gives exactly what json.JSONEncoder, built per call, gives.
    assert canonical_text(payload) == canonical._ENCODER.encode(payload)


@pytest.mark.parametrize("bad", [{1: "int key"}, {"nested": {2: "x"}}, {"x": float("nan")}, {"x": object()},
                                 {"x": Decimal("Infinity")}])
def test_the_writer_refuses_what_canonical_json_refuses(bad: dict) -> None:
    with pytest.raises((TypeError, ValueError)):
        canonical_json(bad)
    with pytest.raises((TypeError, ValueError)):
        canonical_text(bad)


@pytest.mark.parametrize("actor", [None, "alice@example.com", "zoë \x00 \"quoted\""])
@pytest.mark.parametrize("step", [None, 0, 7])
@pytest.mark.parametrize("payload", TRICKY_PAYLOADS)
def test_the_writers_fast_hash_is_the_verifiers_hash(actor: str | None, step: int | None, payload: dict) -> None:
    cursor = ChainCursor(chain="T-ü", length=4, head="ab" * 32)
    rows = [cursor.append(kind="node_completed", step=step, actor=actor, payload=payload, at="2025-06-01T12:00:00Z"),
            cursor.append(kind="gate_entered", step=step, actor=actor, payload=payload)]
    prev = "ab" * 32
    for row in rows:
        # The reference hash over the same entry: the stored fields, the payload as given.
        assert row["prev"] == prev
        assert row["hash"] == entry_hash({**row, "payload": payload}, prev)
        assert row["payload"].encode() == canonical_json(payload)
        prev = row["hash"]
    assert (cursor.length, cursor.head) == (6, rows[-1]["hash"])


STEP = {"node": "draft", "attempt": 1, "state_hash": "ab" * 32, "delta": '{"append":{},"set":{"x":"ana@example.com"}}',
        "next": "review", "models": ["demo-small", "gpt-4o"], "input_tokens": 90, "output_tokens": 30,
        "cost": "0.000120", "duration_ms": 12.5}


def _reference_step(cursor: ChainCursor, step: dict, salt: str) -> dict:
    """The entry append_step stands for, through the generic writer and the reference digests."""
    payload = {key: value for key, value in step.items() if key not in ("state_hash", "delta")}
    payload.update(input=payload_digest(step["state_hash"], salt=salt or None),
                   output=payload_digest(step["delta"], salt=salt or None))
    return cursor.append(kind="node_completed", step=7, actor=None, payload=payload)


@pytest.mark.parametrize("change", [
    {},
    {"node": "zoë \"quoted\" \x00 \u2028 🙂", "next": "__end__", "models": [], "delta": "{}", "state_hash": ""},
    {"duration_ms": 0.0}, {"duration_ms": -0.0}, {"duration_ms": 1e-7}, {"duration_ms": 1e16}, {"duration_ms": 123.457},
    {"input_tokens": 10**30, "output_tokens": -1, "attempt": 0},
    {"models": ["a\"b", "c\\d", "é"], "delta": "naïve \"\\ \t"},
    # Other types take the generic encoder, with its bytes and its refusals.
    {"attempt": True}, {"duration_ms": 3}, {"cost": Decimal("0.000120")}, {"models": ("tuple",)}, {"models": [1]},
])
@pytest.mark.parametrize("salt", ["", "s41t"])
def test_a_steps_entry_is_the_generic_writers_entry(change: dict, salt: str) -> None:
    step = {**STEP, **change}
    fast, reference = (ChainCursor(chain="T-ü", length=4, head="cd" * 32) for _ in range(2))
    entry = fast.append_step(step=7, salt=salt, **step)
    expected = _reference_step(reference, step, salt)
    assert {**entry, "at": "", "hash": ""} == {**expected, "at": "", "hash": ""}
    # Hashes differ only through the clock: recompute the reference over the fast entry's own time.
    payload = __import__("json").loads(entry["payload"])
    assert entry["hash"] == entry_hash({**entry, "payload": payload}, "cd" * 32)
    assert entry["payload"].encode() == canonical_json(payload)
    assert (fast.length, fast.head) == (5, entry["hash"])


@pytest.mark.parametrize("bad", [{"duration_ms": float("nan")}, {"duration_ms": float("inf")}, {"models": [1j]}])
def test_a_steps_entry_refuses_what_canonical_json_refuses(bad: dict) -> None:
    with pytest.raises((TypeError, ValueError)):
        ChainCursor(chain="T-1", length=0, head="0" * 64).append_step(step=1, salt="s", **{**STEP, **bad})


def test_the_clock_prints_utc_with_microseconds_like_isoformat() -> None:
    before = datetime.now(UTC)
    at = utc_now_iso()
    after = datetime.now(UTC)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", at)
    parsed = datetime.fromisoformat(at.replace("Z", "+00:00"))
    assert before - timedelta(microseconds=1) <= parsed <= after
    assert at == parsed.isoformat(timespec="microseconds").replace("+00:00", "Z")


@pytest.mark.parametrize("value", ["", "plain", "zoë \"q\" \x00 🙂", {"a": [1, "x"]}, ["s"], 3, None])
@pytest.mark.parametrize("salt", ["", "s41t"])
def test_a_payload_digest_is_sha256_of_salt_and_canonical_json(value: object, salt: str) -> None:
    expected = "sha256:" + hashlib.sha256(salt.encode() + canonical_json(value)).hexdigest()
    assert payload_digest(value, salt=salt or None) == expected


def test_a_cursor_digests_with_the_salt_of_each_call() -> None:
    # The writer keeps a SHA-256 already fed the run's salt; a cursor given another salt (or none)
    # must not reuse it.
    fast, reference = (ChainCursor(chain="T-1", length=0, head="0" * 64) for _ in range(2))
    for salt in ("s41t", "s41t", "other", "", "s41t"):
        entry = fast.append_step(step=7, salt=salt, **STEP)
        assert entry["payload"] == _reference_step(reference, STEP, salt)["payload"]
