"""The edit-then-approve form, generated from the gate's arguments and the workflow's state schema.

Each argument of the gate is a state field, so its pydantic field says how to show it and how to
read it back. Edits are checked as pydantic's strict JSON mode reads them (orchestrator.state_edits),
so reading back turns the form's text into the JSON value the input shows, of its field's JSON type:

  - number box (int, float, Decimal): 900, not "900"; a decimal stays text, exact as typed, as JSON
    holds it; an empty box is null.
  - choice box (Literal, Enum, and `bool | None`): each option carries its choice as JSON text, and the
    chosen one is read back as that JSON value: 2 for `Literal[1, 2, 3]` or an IntEnum, "auto" for a
    text choice. An optional choice (`X | None`) offers "(none)", which is null; a value that is none of
    the options (a hand-made request, a page from before the choices changed) is refused naming them.
  - checkbox (bool): true or false. An optional flag is a choice of (none), true and false instead, since
    a checkbox cannot show or keep null: an untouched one would send false.
  - date box (date) and text box (str, and the types JSON writes as text: datetime, time, UUID, URL…):
    the text as typed. An emptied box of an optional field is null (for optional text: unless the
    proposal itself was empty text), so an untouched empty box keeps the null it showed.
  - JSON box (lists, objects, unions): the JSON typed, shown as JSON (a text value in quotes).

Text that is no value of its box (JSON that does not parse, a choice not offered) is a field error,
kept as typed (`Unread`) so the refused form shows it back. `review.services.validate_edits` then
checks the values against the schema and keeps the typed result.
"""

from __future__ import annotations

import enum
import functools
import json
import math
import types
import typing
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, TypeAdapter
from pydantic.fields import FieldInfo

from orchestrator.value_errors import HALF_A_PAIR, annotation_bare, has_lone_surrogate, json_problem, text_at

PREFIX = "arg-"
NONE_LABEL = "(none)"

# What a text box of a type JSON writes as text takes, for a field without a description of its own.
_TEXT_HELP = {
    "date-time": "a date and time, like 2025-01-31T09:30:00Z",
    "time": "a time, like 09:30:00",
    "duration": "a duration, like PT1H30M",
}


@dataclass(frozen=True)
class Unread:
    """Form text that is no value of its input (JSON that does not parse, a choice not offered): shown
    back exactly as typed beside its error, never sent on as a value."""

    text: str


@dataclass(frozen=True)
class Choice:
    value: Any  # the JSON value the state holds
    label: str

    @property
    def key(self) -> str:
        """The option's value attribute: the choice as JSON text, so 1 and "1" are two options."""
        return _json_text(self.value)


@dataclass
class ArgField:
    name: str
    label: str
    widget: str  # text | textarea | date | number | checkbox | select | json
    original: Any
    value: Any  # what the form shows now (the original, what the person submitted, or Unread text)
    step: str = ""
    minimum: str = ""  # a number box's min and max attributes, from the field's inclusive bounds
    maximum: str = ""
    choices: list[Choice] = field(default_factory=list)
    help: str = ""
    error: str = ""
    changed: bool = False
    optional: bool = False
    annotation: Any = field(default=str, repr=False)  # the field's type, without `| None`

    @property
    def input_name(self) -> str:
        return PREFIX + self.name

    @property
    def text(self) -> str:
        """The value as the input's text (for a choice box, the chosen option's value attribute)."""
        return self.value.text if isinstance(self.value, Unread) else self._as_text(self.value)

    @property
    def original_text(self) -> str:
        """The proposed value as the input's text: the page marks a field changed when they differ."""
        return self._as_text(self.original)

    @property
    def shown(self) -> str:
        """The value as a person reads it: a choice's label, else the input's text."""
        if self.widget == "select" and not isinstance(self.value, Unread):
            return next((c.label for c in self.choices if c.key == self.text), self.text)
        return self.text

    @property
    def options(self) -> list[tuple[str, str, bool]]:
        """(value attribute, label, selected) of each option; text refused as no choice comes last,
        selected, so the refused form keeps it (and the person sees what was sent)."""
        rows = [(c.key, c.label, c.key == self.text) for c in self.choices]
        if isinstance(self.value, Unread):
            rows.append((self.value.text, self.value.text, True))
        return rows

    def _as_text(self, value: Any) -> str:
        if self.widget == "json":
            return json.dumps(value, indent=2, ensure_ascii=False)
        if self.widget == "select":
            return _json_text(value)
        return "" if value is None else str(value)


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """(inner type, optional?) for `X | None` / Optional[X], without Annotated[...] around either."""
    annotation = annotation_bare(annotation)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return annotation_bare(args[0]), True
    return annotation, False


def _choices(values: list[Any], optional: bool) -> list[Choice]:
    """Each value labelled as people read it: text as it is, others as JSON (1, 0.5, true), an enum
    member that is not text by its name too ("GOLD (2)"). Text that reads as another choice ("1"
    beside 1) is labelled as JSON ("\\"1\\""), so no two labels are alike."""
    labels_named = [f"{v.name} ({_json_text(v.value)})" if isinstance(v, enum.Enum) and not isinstance(v.value, str)
                    else None for v in values]
    values = [v.value if isinstance(v, enum.Enum) else v for v in values]  # Literal[Color.RED] holds "red"
    if optional and None not in values:
        values, labels_named = [None, *values], [None, *labels_named]
    labels = [name or (NONE_LABEL if v is None else v if isinstance(v, str) else _json_text(v))
              for v, name in zip(values, labels_named, strict=True)]
    if len(set(labels)) < len(labels):
        labels = [name or (NONE_LABEL if v is None else _json_text(v))
                  for v, name in zip(values, labels_named, strict=True)]
    return [Choice(value, label) for value, label in zip(values, labels, strict=True)]


def _text_format(annotation: Any) -> str | None:
    """The JSON schema format ("date", "date-time", "uuid", "" for none) of a type JSON writes as text
    (a date, a URL, a constrained str…), or None for any other type."""
    try:
        return _text_format_of(annotation)
    except TypeError:  # unhashable, so not cached
        return _text_format_of.__wrapped__(annotation)


@functools.lru_cache(maxsize=256)
def _text_format_of(annotation: Any) -> str | None:
    try:
        schema = TypeAdapter(annotation).json_schema()
    except Exception:  # noqa: BLE001 - a type pydantic cannot describe goes in a JSON box
        return None
    return schema.get("format", "") if schema.get("type") == "string" else None


def _widget(annotation: Any, value: Any, max_length: int | None, optional: bool) -> tuple[str, str, list[Choice]]:
    if annotation is bool:
        return ("select", "", _choices([True, False], True)) if optional else ("checkbox", "", [])
    if annotation is int:
        return "number", "1", []
    if annotation in (float, Decimal):
        return "number", "any", []
    if typing.get_origin(annotation) is Literal:
        return "select", "", _choices(list(typing.get_args(annotation)), optional)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "select", "", _choices(list(annotation), optional)
    if annotation is str:
        text = value if isinstance(value, str) else ""
        long = max_length is None or max_length > 300 or "\n" in text or len(text) > 120
        return ("textarea" if long else "text"), "", []
    text_format = _text_format(annotation)
    if text_format is not None:
        return ("date" if text_format == "date" else "text"), "", []
    return "json", "", []


def _nested_metadata(annotation: Any) -> list[Any]:
    """The constraints inside an `Annotated[...]` that pydantic leaves off the field's own metadata:
    `Annotated[int, Field(ge=1)] | None` keeps its bounds in the annotation."""
    found: list[Any] = []
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for member in typing.get_args(annotation):
            found += _nested_metadata(member)
    elif typing.get_origin(annotation) is typing.Annotated:
        inner, *extras = typing.get_args(annotation)
        for extra in extras:
            found += extra.metadata if isinstance(extra, FieldInfo) else [extra]
        found += _nested_metadata(inner)
    return found


@dataclass(frozen=True)
class _Limits:
    max_length: int | None = None
    notes: str = ""
    minimum: str = ""  # the number box's min and max attributes (inclusive bounds only)
    maximum: str = ""


def _constraints(info: Any, annotation: Any) -> _Limits:
    max_length, notes, bounds = None, [], {}
    for meta in [*info.metadata, *_nested_metadata(info.annotation)]:
        if getattr(meta, "max_length", None) is not None:
            max_length = meta.max_length
            notes.append(f"up to {meta.max_length} characters")
        if getattr(meta, "min_length", None):
            notes.append(f"at least {meta.min_length} character{'s' if meta.min_length > 1 else ''}")
        for bound, word in (("ge", "at least"), ("gt", "more than"), ("le", "at most"), ("lt", "less than")):
            if getattr(meta, bound, None) is not None:
                notes.append(f"{word} {getattr(meta, bound)}")
                bounds[bound] = getattr(meta, bound)
    # A whole number more than 0 is at least 1; a float more than 0 has no smallest value to give.
    if annotation is int:
        bounds.setdefault("ge", bounds["gt"] + 1 if isinstance(bounds.get("gt"), int) else None)
        bounds.setdefault("le", bounds["lt"] - 1 if isinstance(bounds.get("lt"), int) else None)
    return _Limits(max_length, ", ".join(notes), *("" if bounds.get(b) is None else str(bounds[b]) for b in ("ge", "le")))


def limits_note(info: FieldInfo) -> str:
    """A field's limits as its box shows them ("at least 1, at most 5", "up to 8 characters"), or "": also
    what the start page lists beside a workflow's input."""
    return _constraints(info, _unwrap(info.annotation)[0]).notes


def edit_fields(schema: type[BaseModel], args: dict[str, Any], *, submitted: dict[str, Any] | None = None,
                errors: dict[str, str] | None = None) -> list[ArgField]:
    """One ArgField per gate argument, in the gate's order; `submitted` re-shows a refused form."""
    rows = []
    for name, original in args.items():
        info = schema.model_fields.get(name)
        annotation, optional = _unwrap(info.annotation) if info else (type(original), False)
        limits = _constraints(info, annotation) if info else _Limits()
        notes = limits.notes
        widget, step, choices = _widget(annotation, original, limits.max_length, optional)
        if widget == "select" and _json_text(original) not in {c.key for c in choices}:
            # A proposal outside the choices (a gate that shows another value than the state's): offered
            # too, so approving it unchanged sends it back unchanged, and the schema has its say.
            choices = [*choices, Choice(original, _json_text(original))]
        if widget == "text" and not notes and annotation is not str:
            notes = _TEXT_HELP.get(_text_format(annotation) or "", "")
        value = submitted[name] if submitted and name in submitted else original
        rows.append(ArgField(
            name=name, label=(info.title if info and info.title else name.replace("_", " ").capitalize()),
            widget=widget, original=original, value=value, step=step, choices=choices,
            minimum=limits.minimum if widget == "number" else "", maximum=limits.maximum if widget == "number" else "",
            help=(info.description or "" if info else "") or notes, error=(errors or {}).get(name, ""),
            changed=submitted is not None and name in submitted and not _same(submitted[name], original),
            optional=optional, annotation=annotation,
        ))
    return rows


def _same(submitted: Any, original: Any) -> bool:
    """Whether a submitted value is the proposed one, as JSON compares them: 1 and 1.0 are one number,
    but true is not 1 (Python's == says it is), at any depth: a plain approval refuses a changed field
    rather than drop the change, so a change must not pass for the same value."""
    if isinstance(submitted, Unread):
        return False
    if isinstance(submitted, (dict, list)) or isinstance(original, (dict, list)):
        return json.dumps(submitted, sort_keys=True) == json.dumps(original, sort_keys=True)
    if isinstance(submitted, bool) or isinstance(original, bool):
        return type(submitted) is type(original) and submitted == original
    return submitted == original


def parse_edits(schema: type[BaseModel], args: dict[str, Any], data: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """Form data → (candidate edits keyed by field, per-field errors for text that is not a value).

    Only fields present in the form are read (a checkbox is present as the hidden "0" it carries)."""
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
        elif row.widget == "select":
            edits[row.name] = _choice(raw, row.choices)
            if isinstance(edits[row.name], Unread):
                errors[row.name] = (f"must be one of {_listed(row.choices)}, not {raw!r}: choose one of those, or "
                                    "restore the original.")
        elif row.widget == "json":
            try:
                edits[row.name] = json.loads(raw) if raw.strip() else None
            except json.JSONDecodeError as exc:
                errors[row.name] = f"not valid JSON ({json_problem(exc)}); fix it or restore the original."
                edits[row.name] = Unread(raw)
            except (ValueError, RecursionError):
                # json's other refusals were a 500: a whole number of more than 4,300 digits, nesting deeper
                # than Python recurses.
                errors[row.name] = ("holds a number of more than 4,300 digits or nests too deeply to be read; fix it "
                                    "or restore the original.")
                edits[row.name] = Unread(raw)
            else:
                if text_at(edits[row.name], row.name, has_lone_surrogate) is not None:
                    # A "\ud800" escape with no partner: not a character, and the page showing the value back
                    # could not encode it (a 500). The box keeps the escape as typed.
                    errors[row.name] = f"{HALF_A_PAIR}; type whole characters, or restore the original."
                    edits[row.name] = Unread(raw)
        elif row.widget == "number":
            info = schema.model_fields.get(row.name)
            edits[row.name] = _number(raw.strip(), info.annotation if info else type(row.original))
        else:
            if "\x00" in row.original_text and raw == row.original_text.replace("\x00", "\ufffd"):
                # A browser cannot send a NUL back: its parser shows one in a box as U+FFFD, which every
                # decision then sends. That text is the proposal as the box showed it, untouched: read it
                # as the proposal, or a plain approval is refused as a change, and an edit of another field
                # replaces the NUL unasked. (A changed box keeps its U+FFFD: that is what was sent.)
                raw = row.original_text
            if row.annotation is not str:
                raw = raw.strip()  # a date, a URL…: no space is part of one
            # An emptied optional box is null (see the module's docstring).
            edits[row.name] = None if row.optional and raw == "" and row.original != "" else raw
    return edits, errors


def _choice(raw: str, choices: list[Choice]) -> Any:
    """The choice an option's value attribute names. Its plain label is taken too when it names one
    choice only ("2" for 2, "auto"), as a page from before options carried JSON sent it."""
    for choice in choices:
        if choice.key == raw:
            return choice.value
    by_label = [c for c in choices if c.label == raw or (c.value is not None and str(c.value) == raw)]
    return by_label[0].value if len(by_label) == 1 else Unread(raw)


def _listed(choices: list[Choice]) -> str:
    labels = [c.label for c in choices]
    return labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} or {labels[-1]}"


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
