"""State storage: what a step writes, and how any checkpoint's state is rebuilt.

A step stores only what changed (`{"set": {...}, "append": {...}}`); every K steps, or when the
deltas since the last snapshot outgrow the state itself, it also stores a full snapshot, so a
rebuild reads one snapshot and a bounded number of deltas. A value whose JSON exceeds the blob
threshold is written once to the blob store and the state keeps a pointer; an unchanged value is
never written again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from orchestrator.blobs import STATE_BLOB_TYPE, blob_get, blob_put, is_state_blob
from orchestrator.value_errors import schema_problems


class StateError(ValueError):
    """A node's update cannot become state; the message names the node, key path and fix."""


def dumps(value: Any) -> str:
    # Control characters (NUL included) are escaped by json, so the text is safe for Postgres.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def unserializable_at(value: Any, path: str) -> tuple[str, str] | None:
    """(key path, what is there) of the first part of `value` JSON cannot hold, or None."""
    if value is None or isinstance(value, (str, bool, int)):
        return None
    if isinstance(value, float):
        return (path, "float NaN/Infinity") if value != value or value in (float("inf"), float("-inf")) else None
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = unserializable_at(item, f"{path}[{index}]")
            if found:
                return found
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{path}.{key!r}", f"a {type(key).__name__} dict key (keys must be strings)"
            found = unserializable_at(item, f"{path}.{key}")
            if found:
                return found
        return None
    return path, type(value).__name__


def check_serializable(node: str, update: dict[str, Any]) -> dict[str, str]:
    """Serialize each updated key, or raise naming the node and the first bad key path."""
    out = {}
    for key, value in update.items():
        try:
            out[key] = dumps(value)
        except (TypeError, ValueError):
            path, what = unserializable_at(value, key) or (key, type(value).__name__)
            raise StateError(
                f"node {node!r} returned a value that is not JSON-serializable at {path}: {what}. "
                "Return plain JSON values (convert dates to ISO strings, objects to dicts), "
                "or store bytes with ctx.blobs.put() and keep the pointer."
            ) from None
    return out


def schema_error(node: str, exc: ValidationError) -> StateError:
    # Without the refused values: the node's output may hold personal data, and this message is kept
    # on the run and written to the worker's log.
    return StateError(f"node {node!r} produced a state that violates the schema: "
                      f"{schema_problems(exc, quote_values=False)}.")


def stored_state_error(workflow: str, step: int, exc: ValidationError) -> StateError:
    """The state a run stored is refused by its workflow's schema as deployed now: a validator added or
    tightened since (code, not structure, so the run's version still counts as compatible)."""
    return StateError(f"the state this run stored at step {step} no longer passes workflow {workflow!r}'s state "
                      f"schema: {schema_problems(exc, quote_values=False)}. The workflow's code changed since the "
                      f"run wrote it: change the code to accept that state and retry the run, or fork it from a "
                      f"checkpoint with the field edited.")


@dataclass
class Delta:
    set: dict[str, Any] = field(default_factory=dict)
    append: dict[str, list[Any]] = field(default_factory=dict)

    def to_json(self) -> str:
        body: dict[str, Any] = {}
        if self.set:
            body["set"] = self.set
        if self.append:
            body["append"] = self.append
        return dumps(body)


def apply_delta(stored: dict[str, Any], delta: dict[str, Any]) -> None:
    stored.update(delta.get("set", {}))
    for key, items in delta.get("append", {}).items():
        stored[key] = list(stored.get(key) or []) + items


def hydrate(value: Any) -> Any:
    # Only the engine's own pointers: a node's ctx.blobs.put() pointer kept in the state stays a
    # pointer (its bytes need not be JSON at all).
    if is_state_blob(value):
        return json.loads(blob_get(value["$blob"]))
    if isinstance(value, list):
        return [hydrate(v) if isinstance(v, (dict, list)) else v for v in value]
    return value


def hydrate_state(stored: dict[str, Any]) -> dict[str, Any]:
    return {key: hydrate(value) for key, value in stored.items()}


class StateTracker:
    """The executor's view of a run's state: hydrated values for nodes, stored form for commits.

    It keeps per-key sizes and digests so that deciding "snapshot now?" and computing the state
    hash cost O(changed keys), not O(state).
    """

    def __init__(self, stored: dict[str, Any], *, blob_threshold: int, snapshot_every: int) -> None:
        self.stored = dict(stored)
        self.values = hydrate_state(stored)
        self.blob_threshold = blob_threshold
        self.snapshot_every = snapshot_every
        self.sizes = {k: len(dumps(v)) for k, v in self.stored.items()}
        self.digests = {k: hashlib.sha256(dumps(v).encode()).hexdigest() for k, v in self.stored.items()}
        self.delta_bytes_since_snapshot = 0

    def _store_value(self, text: str) -> tuple[Any, str]:
        if len(text) > self.blob_threshold:
            ref = blob_put(text.encode(), content_type=STATE_BLOB_TYPE)
            return ref, dumps(ref)
        return json.loads(text), text

    def apply(self, update: dict[str, Any], encoded: dict[str, str], reducers: dict[str, str]) -> Delta:
        """Apply a checked update (values + their JSON text); return the delta in stored form."""
        delta = Delta()
        for key, value in update.items():
            text = encoded[key]
            if reducers.get(key) == "append":
                items = value if isinstance(value, list) else [value]
                stored_items = []
                for item in items:
                    stored_item, _ = self._store_value(dumps(item))
                    stored_items.append(stored_item)
                delta.append[key] = stored_items
                self.values[key] = list(self.values.get(key) or []) + list(items)
                self.stored[key] = list(self.stored.get(key) or []) + stored_items
                piece = dumps(stored_items)
                self.sizes[key] = self.sizes.get(key, 2) + len(piece)
                self.digests[key] = hashlib.sha256((self.digests.get(key, "") + piece).encode()).hexdigest()
                self.delta_bytes_since_snapshot += len(piece)
            else:
                stored_value, stored_text = self._store_value(text)
                delta.set[key] = stored_value
                self.values[key] = value
                self.stored[key] = stored_value
                self.sizes[key] = len(stored_text)
                self.digests[key] = hashlib.sha256(stored_text.encode()).hexdigest()
                self.delta_bytes_since_snapshot += len(stored_text)
        return delta

    def wants_snapshot(self, step: int) -> bool:
        return step % self.snapshot_every == 0 or self.delta_bytes_since_snapshot > sum(self.sizes.values())

    def snapshot(self) -> str:
        self.delta_bytes_since_snapshot = 0
        return dumps(self.stored)

    def state_hash(self) -> str:
        joined = "|".join(f"{k}={self.digests[k]}" for k in sorted(self.digests))
        return hashlib.sha256(joined.encode()).hexdigest()


def model_of(schema: type[BaseModel], values: dict[str, Any]) -> BaseModel:
    return schema.model_validate(values)
