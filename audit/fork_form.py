"""The fork form's state fields: one JSON box per field of the workflow's state schema.

Each box shows the field's value at the checkpoint as JSON, under a type name people read ("text",
"list of text", "GateDecision object or null") rather than a Python annotation. Text keeps its line
breaks as real ones (read back with `strict=False`), so a drafted email reads as it will be sent
instead of one line of \\n escapes; boxes are as tall as their content. A box that does not parse
gets a hint for its own type: quotes for text, brackets for a list, braces for an object.
"""

from __future__ import annotations

import enum
import json
import math
import types
import typing
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel

from orchestrator.state import dumps
from orchestrator.value_errors import json_problem

WRAP = 80  # characters per line of a box at its usual width, to size it before it is shown
MAX_ROWS = 24

_NAMES = {str: "text", int: "integer", float: "number", Decimal: "number", bool: "true or false",
          type(None): "null", dict: "object", list: "list", tuple: "list", set: "list", Any: "any JSON"}
_HINTS = {
    "text": 'text needs double quotes, e.g. "hello"',
    "integer": "a whole number, without quotes, e.g. 3",
    "number": "a number, without quotes, e.g. 0.5",
    "true or false": "true or false, without quotes",
    "list": 'a list needs square brackets and commas between items, e.g. ["a", "b"]',
    "object": 'an object needs braces and double-quoted keys, e.g. {"key": "value"}',
}


@dataclass
class StateField:
    name: str
    type: str  # the type as people read it
    original: str  # compact JSON of the value at the checkpoint, to tell an edit from no change
    value: str  # the box's text: the value at the checkpoint, or what was submitted
    hint: str  # what valid JSON for this type looks like
    error: str = ""

    @property
    def rows(self) -> int:
        lines = self.value.split("\n")
        return min(MAX_ROWS, sum(max(1, math.ceil(len(line) / WRAP)) for line in lines))


def _members(annotation: Any) -> list[Any]:
    """The alternatives of `X | Y` / Optional[X]; [annotation] for anything else."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return list(typing.get_args(annotation))
    return [annotation]


def type_name(annotation: Any) -> str:
    """A state field's type as people read it: `list[str]` is "list of text", `GateDecision | None`
    is "GateDecision object or null"."""
    members = _members(annotation)
    if len(members) > 1:
        return " or ".join(type_name(m) for m in members)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return type_name(args[0])
    if origin is Literal:
        return "one of " + ", ".join(json.dumps(a) for a in args)
    if origin in (list, tuple, set, frozenset):
        return f"list of {type_name(args[0])}" if args and args[0] is not Ellipsis else "list"
    if origin is dict:
        return "object"
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return f"{annotation.__name__} object"
        if issubclass(annotation, enum.Enum):
            return "one of " + ", ".join(json.dumps(m.value) for m in annotation)
    return _NAMES.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _hint(annotation: Any) -> str:
    """How valid JSON for this type looks: the first alternative that is not null decides."""
    kinds = [type_name(m) for m in _members(annotation) if m is not type(None)]
    kind = kinds[0] if kinds else "null"
    if kind.startswith("list"):
        kind = "list"
    elif kind.endswith("object"):
        kind = "object"
    hint = kind if kind.startswith("one of") else _HINTS.get(kind, "check brackets, commas and double quotes")
    return f"{hint}; or null" if type(None) in _members(annotation) else hint


def box_text(value: Any) -> str:
    """JSON for a box. Text gets real line breaks (JSON escapes each line, not the breaks)."""
    if isinstance(value, str):
        return '"' + "\n".join(json.dumps(line, ensure_ascii=False)[1:-1] for line in value.split("\n")) + '"'
    return json.dumps(value, ensure_ascii=False, indent=2)


def fork_fields(schema: type[BaseModel], state: dict[str, Any], posted: Any | None) -> list[StateField]:
    """One box per schema field, in schema order; `posted` (a refused form) is shown back as typed."""
    fields = []
    for name, info in schema.model_fields.items():
        present = name in state
        original = dumps(state[name]) if present else "null"
        shown = box_text(state[name]) if present else "null"
        value = posted.get(f"field_{name}", shown) if posted is not None else shown
        fields.append(StateField(name=name, type=type_name(info.annotation), original=original, value=value,
                                 hint=_hint(info.annotation)))
    return fields


def parse_fork_form(post: Any, fields: list[StateField]) -> tuple[dict[str, Any], dict[str, str]]:
    """Form data → (edits: the fields whose value changed, errors: boxes that are not JSON)."""
    edits, errors = {}, {}
    for field in fields:
        raw = post.get(f"field_{field.name}")
        if raw is None:
            continue
        # Browsers send a textarea's line breaks as CRLF; the state's text had plain LF.
        raw = raw.replace("\r\n", "\n")
        try:
            value = json.loads(raw, strict=False)  # strict=False: line breaks typed inside text
            typed = dumps(value)
        except json.JSONDecodeError as exc:
            errors[field.name] = f"not valid JSON ({json_problem(exc)}); {field.hint}"
            continue
        except (ValueError, RecursionError):
            # What json reads but no state holds, or cannot read at all, was a 500: NaN or Infinity (dumps
            # refuses them), a whole number of more than 4,300 digits, nesting deeper than Python recurses.
            errors[field.name] = (f"not a value a state can hold (NaN, Infinity, a number of more than 4,300 digits "
                                  f"or nesting too deep to read); {field.hint}")
            continue
        if typed != field.original:
            edits[field.name] = value
    return edits, errors
