"""The edit-then-approve form, generated from the gate's arguments and the workflow's state schema.

Each argument of the gate is a state field, so its pydantic field says how to show it (text, long
text, number, checkbox, choice, JSON) and how to read it back. Reading back only turns form text
into the JSON values they show (a number box's "900" is 900: edits are read as their JSON type, and
"900" would be text); `review.services.validate_edits` then validates them against the schema and
keeps the typed result, so an int stays an int and a bad email address is refused by name.
"""

from __future__ import annotations

import enum
import json
import math
import types
import typing
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel

from orchestrator.value_errors import json_problem

PREFIX = "arg-"


@dataclass
class ArgField:
    name: str
    label: str
    widget: str  # text | textarea | number | checkbox | select | json
    original: Any
    value: Any  # what the form shows now (the original, or what the person submitted)
    step: str = ""
    choices: list[str] = field(default_factory=list)
    help: str = ""
    error: str = ""
    changed: bool = False

    @property
    def input_name(self) -> str:
        return PREFIX + self.name

    @property
    def text(self) -> str:
        """The value as the input's text."""
        if self.widget == "json":
            return self.value if isinstance(self.value, str) else json.dumps(self.value, indent=2, ensure_ascii=False)
        return "" if self.value is None else str(self.value)


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """(inner type, optional?) for `X | None` / Optional[X]."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def _widget(annotation: Any, value: Any, max_length: int | None) -> tuple[str, str, list[str]]:
    if annotation is bool:
        return "checkbox", "", []
    if annotation is int:
        return "number", "1", []
    if annotation in (float, Decimal):
        return "number", "any", []
    if typing.get_origin(annotation) is Literal:
        return "select", "", [str(a) for a in typing.get_args(annotation)]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "select", "", [str(m.value) for m in annotation]
    if annotation is str:
        long = max_length is None or max_length > 300 or "\n" in (value or "") or len(value or "") > 120
        return ("textarea" if long else "text"), "", []
    return "json", "", []


def _constraints(info: Any) -> tuple[int | None, str]:
    max_length, notes = None, []
    for meta in info.metadata:
        if getattr(meta, "max_length", None) is not None:
            max_length = meta.max_length
            notes.append(f"up to {meta.max_length} characters")
        if getattr(meta, "min_length", None):
            notes.append(f"at least {meta.min_length} character{'s' if meta.min_length > 1 else ''}")
        for bound, word in (("ge", "at least"), ("gt", "more than"), ("le", "at most"), ("lt", "less than")):
            if getattr(meta, bound, None) is not None:
                notes.append(f"{word} {getattr(meta, bound)}")
    return max_length, ", ".join(notes)


def edit_fields(schema: type[BaseModel], args: dict[str, Any], *, submitted: dict[str, Any] | None = None,
                errors: dict[str, str] | None = None) -> list[ArgField]:
    """One ArgField per gate argument, in the gate's order; `submitted` re-shows a refused form."""
    rows = []
    for name, original in args.items():
        info = schema.model_fields.get(name)
        annotation, _optional = _unwrap(info.annotation) if info else (type(original), False)
        max_length, notes = _constraints(info) if info else (None, "")
        widget, step, choices = _widget(annotation, original, max_length)
        value = submitted[name] if submitted and name in submitted else original
        rows.append(ArgField(
            name=name, label=(info.title if info and info.title else name.replace("_", " ").capitalize()),
            widget=widget, original=original, value=value, step=step, choices=choices,
            help=(info.description or "" if info else "") or notes, error=(errors or {}).get(name, ""),
            changed=submitted is not None and name in submitted and not _same(submitted[name], original),
        ))
    return rows


def _same(submitted: Any, original: Any) -> bool:
    if isinstance(submitted, str) and not isinstance(original, str):
        return submitted.strip() == ("" if original is None else str(original))
    return submitted == original


def parse_edits(schema: type[BaseModel], args: dict[str, Any], data: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """Form data → (candidate edits keyed by field, per-field errors for text that is not a value).

    Only fields present in the form are read (a checkbox is present as the hidden "0" it carries).
    """
    edits: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for row in edit_fields(schema, args):
        key = row.input_name
        if key not in data:
            continue
        raw = data.getlist(key)[-1] if hasattr(data, "getlist") else data[key]
        # Browsers submit textarea line breaks as CRLF; the state never had them.
        raw = raw.replace("\r\n", "\n")
        if row.widget == "checkbox":
            edits[row.name] = raw in ("1", "on", "true")
        elif row.widget == "json":
            try:
                edits[row.name] = json.loads(raw) if raw.strip() else None
            except json.JSONDecodeError as exc:
                errors[row.name] = f"not valid JSON ({json_problem(exc)}); fix it or restore the original."
                edits[row.name] = raw  # shown back as typed (a str is the input's text), so nothing is lost
        elif row.widget == "number":
            info = schema.model_fields.get(row.name)
            edits[row.name] = _number(raw.strip(), info.annotation if info else type(row.original))
        else:
            edits[row.name] = raw
    return edits, errors


def _number(text: str, annotation: Any) -> Any:
    """A number box's text as the number it shows. Text that is no number (or a fraction for a whole
    number) stays text, for the schema to refuse by name; a decimal stays text, exact as typed, which
    is how JSON holds it."""
    if not text:
        return None
    inner, _optional = _unwrap(annotation)
    if inner is Decimal:
        return text
    try:
        return int(text)  # exact, however long (a float would round it)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return text
    if not math.isfinite(number):
        return text
    if inner is int:
        return int(number) if number.is_integer() else text
    return number
