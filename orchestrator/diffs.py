"""State diffs: what changed between two states, per key path (added / removed / changed).

Paths read like Python access: `summary`, `meta.owner`, `trail[3]`. Dicts are compared key by
key, lists index by index (an item appended at the end is one "added" path), anything else by
equality. Blob pointers (`{"$blob": sha, ...}`) are leaves: two pointers differ when their
content hash differs, so a diff never reads blob bytes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from orchestrator.blobs import is_blob_ref

ChangeKind = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class Change:
    path: str
    kind: ChangeKind
    before: Any = None
    after: Any = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _key_path(prefix: str, key: str) -> str:
    return key if not prefix else f"{prefix}.{key}"


def _walk(before: Any, after: Any, path: str, out: list[Change]) -> None:
    if isinstance(before, dict) and isinstance(after, dict) and not (is_blob_ref(before) or is_blob_ref(after)):
        for key in before:
            if key not in after:
                out.append(Change(_key_path(path, key), "removed", before=before[key]))
            else:
                _walk(before[key], after[key], _key_path(path, key), out)
        for key in after:
            if key not in before:
                out.append(Change(_key_path(path, key), "added", after=after[key]))
        return
    if isinstance(before, list) and isinstance(after, list):
        for index in range(max(len(before), len(after))):
            item_path = f"{path}[{index}]"
            if index >= len(after):
                out.append(Change(item_path, "removed", before=before[index]))
            elif index >= len(before):
                out.append(Change(item_path, "added", after=after[index]))
            else:
                _walk(before[index], after[index], item_path, out)
        return
    # bool is an int in Python: True == 1 must still count as a change of type.
    if before != after or type(before) is not type(after):
        out.append(Change(path or "(state)", "changed", before=before, after=after))


def state_diff(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """Every key path that differs between two states, in the order the keys appear."""
    out: list[Change] = []
    _walk(before, after, "", out)
    return out


def diff_counts(changes: list[Change]) -> dict[str, int]:
    counts = {"added": 0, "removed": 0, "changed": 0}
    for change in changes:
        counts[change.kind] += 1
    return counts
