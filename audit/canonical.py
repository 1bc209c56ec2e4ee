"""Canonical JSON and the digests built on it: the one byte encoding every ledger hash is taken over.

Pure Python on purpose (no Django): the offline verifier carries a copy of these functions, so a change
here is a change to the hash format and must be mirrored there (tests/audit compare the two).
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from json.encoder import c_make_encoder, encode_basestring
from typing import Any

_CONTAINERS = (dict, list, tuple)
_EXACT_CONTAINERS = frozenset(_CONTAINERS)
_EXACT_SCALARS = frozenset({str, int, float, bool, type(None)})


def _encode_default(value: Any) -> Any:
    # Decimals travel as strings: a JSON number would be read back as a float and lose digits.
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value!r} has no canonical JSON encoding")
        return str(value)
    raise TypeError(f"{type(value).__name__} has no canonical JSON encoding")


_ENCODER = json.JSONEncoder(
    sort_keys=True,
    separators=(",", ":"),
    ensure_ascii=False,
    allow_nan=False,
    default=_encode_default,
)

# The same encoder, built once: json.JSONEncoder.encode builds a new C encoder on every call (~2 µs, and
# this runs for every ledger entry written or verified). None where json has no C speedups.
_ENCODE = (c_make_encoder(None, _encode_default, encode_basestring, None, ":", ",", True, False, False)
           if c_make_encoder is not None else None)


def _reject_non_string_keys(obj: Any) -> None:
    # json silently turns {2: ..., 10: ...} into string keys, but sorts them as ints first; once the value
    # has been through a database and back the keys are strings and sort differently, so the hash would
    # change. Refusing them here keeps "same value in, same bytes out" true after a round trip.
    # (Written for speed, with exact-type fast paths: it runs once per ledger entry.)
    stack = [obj]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if type(key) is not str and not isinstance(key, str):
                    raise TypeError(f"canonical JSON needs string keys, got {key!r}")
                if type(value) in _EXACT_CONTAINERS or (
                    type(value) not in _EXACT_SCALARS and isinstance(value, _CONTAINERS)
                ):
                    stack.append(value)
        else:
            stack += [item for item in node if isinstance(item, _CONTAINERS)]


def canonical_json(obj: Any, *, from_json: bool = False) -> bytes:
    """Encode ``obj`` deterministically: sorted keys, no whitespace, UTF-8, no NaN/Infinity.

    Ints stay ints, Decimals become strings, strings may hold any code point including NUL (json escapes
    it as \\u0000). Lone surrogates cannot be UTF-8 encoded and raise ``UnicodeEncodeError``.
    Floats are allowed but note that a float which prints in exponent form (1e+16) comes back from
    Postgres jsonb as an int; store such values as Decimal or str.
    ``from_json``: ``obj`` was parsed from JSON, so its keys are strings and are not checked again
    (verification re-encodes every entry it reads).
    """
    return canonical_text(obj, from_json=from_json).encode("utf-8")


def canonical_text(obj: Any, *, from_json: bool = False) -> str:
    """canonical_json before its UTF-8 encoding (what a ledger row stores as its payload)."""
    if not from_json and isinstance(obj, _CONTAINERS):
        _reject_non_string_keys(obj)
    if _ENCODE is None:
        return _ENCODER.encode(obj)
    return "".join(_ENCODE(obj, 0))


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def payload_digest(value: Any, *, salt: str | None) -> str:
    """``"sha256:" + hex(sha256(salt + canonical_json(value)))``.

    The salt is what lets personal data be erased while its proof survives: the ledger keeps only this
    digest, and without the (separately stored, separately erasable) salt a guessable value such as an
    email address cannot be confirmed by hashing candidates.
    """
    digest = hashlib.sha256(salt.encode("utf-8") if salt else b"")
    # A string's canonical JSON is just its escaped form (the hot case: a step's delta text).
    digest.update(encode_basestring(value).encode("utf-8") if type(value) is str else canonical_json(value))
    return "sha256:" + digest.hexdigest()
