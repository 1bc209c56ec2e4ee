"""How a value refused as JSON or by a workflow's state schema reads for people.

One place, so a reviewer's gate edit, an engineer's fork edit, a run's input (web, API, CLI) and a
node's output that broke the schema all say the same thing in the same words. Pydantic's own
messages ("String should match pattern '^…$'", "Input should be a valid integer, unable to parse
string as an integer") are written for programmers; each common error type gets a phrase that
follows a field name ("to: doesn't have the expected form …") and says what a good value looks like.
An error type without a phrase keeps pydantic's message, lower-cased to follow the field name.
"""

from __future__ import annotations

import collections.abc
import json
import re
import types
import typing
from collections.abc import Callable, Collection
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

WHOLE_STATE = "(state)"  # the field_errors key of a rule over the whole state (a model validator)


def _shown(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _num(bound: Any) -> str:
    # A float field's bound comes back as 0.0; people typed and read 0.
    return str(int(bound)) if isinstance(bound, float) and bound.is_integer() else str(bound)


def _count(n: Any, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _not(err: ErrorDetails, example: str = "") -> str:
    """", not 'two'": the typed value, so a person sees which of several values was refused; an example
    of a good one when the value is not something to quote back."""
    value = err.get("input")
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return f", not {_shown(value)}"
    return f", e.g. {example}" if example else ""


def _unquoted(err: ErrorDetails) -> str:
    """Text refused by a *_type error: only strict validation (an edit, read as JSON) refuses text for
    a number or a flag, and the text may read as a good value ("true", "3"): the quotes are what is wrong."""
    return " without quotes" if isinstance(err.get("input"), str) else ""


def _unquoted_choice(err: ErrorDetails, ctx: dict[str, Any]) -> str:
    """Text that reads as one of the choices when unquoted ("2" for 1, 2 or 3): only strict validation
    (an edit, read as JSON) refuses it, and the quotes are what is wrong. Text choices are listed quoted
    ('email' or 'sms'), so they never match."""
    value = err.get("input")
    return " without quotes" if isinstance(value, str) and value in re.split(r", | or ", ctx["expected"]) else ""


def _has(err: ErrorDetails) -> str:
    value = err.get("input")
    actual = err.get("ctx", {}).get("actual_length")
    if actual is None and isinstance(value, (str, list, tuple, dict, set)):
        actual = len(value)
    return f" (it has {actual})" if actual is not None else ""


def _text_min(err: ErrorDetails, ctx: dict[str, Any]) -> str:
    n = ctx["min_length"]
    return "must not be empty" if n == 1 else f"must have at least {_count(n, 'character', 'characters')}"


_NOT_A_FIELD = "is not a field the workflow knows; remove it"
_OBJECT = 'must be an object, e.g. {"key": "value"}'
_LIST = 'must be a list, e.g. ["a", "b"]'
_PHRASES: dict[str, Callable[[ErrorDetails, dict[str, Any]], str]] = {
    "missing": lambda err, ctx: "is required",
    "string_pattern_mismatch": lambda err, ctx: f"doesn't have the expected form (it must match '{ctx['pattern']}')",
    "string_too_short": _text_min,
    "string_too_long": lambda err, ctx: (f"must have at most {_count(ctx['max_length'], 'character', 'characters')}"
                                         f"{_has(err)}"),
    "too_short": lambda err, ctx: f"must hold at least {_count(ctx['min_length'], 'item', 'items')}{_has(err)}",
    "too_long": lambda err, ctx: f"must hold at most {_count(ctx['max_length'], 'item', 'items')}{_has(err)}",
    "string_type": lambda err, ctx: f"must be text{_not(err)}",
    "int_parsing": lambda err, ctx: f"must be a whole number{_not(err, '3')}",
    "int_type": lambda err, ctx: f"must be a whole number{_unquoted(err)}{_not(err, '3')}",
    "int_from_float": lambda err, ctx: f"must be a whole number{_not(err, '3')}",
    "float_parsing": lambda err, ctx: f"must be a number{_not(err, '0.5')}",
    "float_type": lambda err, ctx: f"must be a number{_unquoted(err)}{_not(err, '0.5')}",
    "decimal_parsing": lambda err, ctx: f"must be a number{_not(err, '0.5')}",
    "bool_parsing": lambda err, ctx: f"must be true or false{_not(err)}",
    "bool_type": lambda err, ctx: f"must be true or false{_unquoted(err)}{_not(err)}",
    "greater_than": lambda err, ctx: f"must be more than {_num(ctx['gt'])}",
    "greater_than_equal": lambda err, ctx: f"must be at least {_num(ctx['ge'])}",
    "less_than": lambda err, ctx: f"must be less than {_num(ctx['lt'])}",
    "less_than_equal": lambda err, ctx: f"must be at most {_num(ctx['le'])}",
    "multiple_of": lambda err, ctx: f"must be a multiple of {_num(ctx['multiple_of'])}",
    "literal_error": lambda err, ctx: f"must be one of {ctx['expected']}{_unquoted_choice(err, ctx)}{_not(err)}",
    "enum": lambda err, ctx: f"must be one of {ctx['expected']}{_unquoted_choice(err, ctx)}{_not(err)}",
    "list_type": lambda err, ctx: _LIST,
    "tuple_type": lambda err, ctx: _LIST,
    "set_type": lambda err, ctx: _LIST,
    "dict_type": lambda err, ctx: _OBJECT,
    "model_type": lambda err, ctx: _OBJECT,
    "model_attributes_type": lambda err, ctx: _OBJECT,
    "extra_forbidden": lambda err, ctx: _NOT_A_FIELD,
    "none_required": lambda err, ctx: "must be null (empty)",
    "date_parsing": lambda err, ctx: f"must be a date like 2025-01-31{_not(err)}",
    "date_type": lambda err, ctx: f"must be a date like 2025-01-31{_not(err)}",
    "datetime_parsing": lambda err, ctx: f"must be a date and time like 2025-01-31T09:30:00Z{_not(err)}",
    "datetime_type": lambda err, ctx: f"must be a date and time like 2025-01-31T09:30:00Z{_not(err)}",
    # Lax validation tries text a datetime refused as a date too (and the other way round), and says so.
    "datetime_from_date_parsing": lambda err, ctx: f"must be a date and time like 2025-01-31T09:30:00Z{_not(err)}",
    "date_from_datetime_parsing": lambda err, ctx: f"must be a date like 2025-01-31{_not(err)}",
    "date_from_datetime_inexact": lambda err, ctx: f"must be a date like 2025-01-31, without a time{_not(err)}",
    "time_parsing": lambda err, ctx: f"must be a time like 09:30:00{_not(err)}",
    # A workflow's own validator wrote these words for people already: only pydantic's prefix goes.
    "value_error": lambda err, ctx: err["msg"].removeprefix("Value error, "),
    "assertion_error": lambda err, ctx: err["msg"].removeprefix("Assertion failed, "),
}


def schema_problem(err: ErrorDetails, *, quote_values: bool = True) -> str:
    """What is wrong with one value, as a phrase to follow its name: "is required", "must be at least 1".
    `quote_values=False` leaves the refused value out (a node's output: it may be personal data, and the
    message goes to the run's error and the worker's log)."""
    if not quote_values:
        err = ErrorDetails(**{**err, "input": None})
    phrase = _PHRASES.get(err["type"])
    if phrase is not None:
        try:
            return phrase(err, err.get("ctx") or {})
        except (KeyError, TypeError):  # a pydantic version that words its context differently
            pass
    msg = err["msg"]
    return msg[:1].lower() + msg[1:]


def key_path(loc: tuple[int | str, ...]) -> str:
    """A key path as JSON people write it: ("lines", 1, "qty") is lines[1].qty."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def schema_field_errors(exc: ValidationError, *, quote_values: bool = True,
                        only: Collection[str] | None = None) -> dict[str, str]:
    """A schema violation as {state field: what is wrong}, for a form that marks each field: the path
    inside the field is kept in the reason, and a field's first problem is the one shown. A rule over
    the whole state is under WHOLE_STATE. `only` keeps the problems inside those fields (and no rule
    over the whole state)."""
    errors: dict[str, str] = {}
    for err in exc.errors():
        loc = tuple(err["loc"])
        if only is not None and not (loc and loc[0] in only):
            continue
        inside = f" (at {key_path(loc)})" if len(loc) > 1 else ""
        errors.setdefault(str(loc[0]) if loc else WHOLE_STATE, f"{schema_problem(err, quote_values=quote_values)}{inside}")
    return errors


def schema_path_errors(exc: ValidationError, *, within: tuple[int | str, ...] = ()) -> dict[str, str]:
    """A schema violation as {key path: what is wrong}, each path whole and under `within` (the argument
    that held the value: ("input",) makes topic input.topic), for the API's `fields`, which name where
    in the request each fault is. A path's first problem is the one shown."""
    errors: dict[str, str] = {}
    for err in exc.errors():
        errors.setdefault(key_path((*within, *err["loc"])) or WHOLE_STATE, schema_problem(err))
    return errors


def schema_problems(exc: ValidationError, *, limit: int = 5, quote_values: bool = True) -> str:
    """The violation as one line, "to: doesn't have the expected form (…); topic: is required", for a
    message that names every field at fault (at most `limit` of them, then how many more)."""
    return problems_line(schema_field_errors(exc, quote_values=quote_values), limit=limit)


def keys_dropped(data: Any, validated: Any, where: str, path: tuple[int | str, ...] = ()) -> dict[str, str]:
    """{key path: what is wrong} for each key of `data` (what a person sent, at any depth) that validating
    it into `validated` dropped without a word, which pydantic does with a key no field declares unless
    the model says otherwise: a misspelt "tpoic" started a run without its topic's value. A model that
    sets `extra` itself has chosen: "allow" keeps such keys, "ignore" drops them on purpose, "forbid"
    refused them already. Each problem names the fields `where` (the workflow, or the key path of a
    model inside it) has, in the words of pydantic's own refusal of such a key (extra_forbidden).

    `validated` may be the model class when `data` did not validate: its keys are checked then, and,
    by each field's type, those of the models inside it (`Model`, `list[Model]`, `dict[str, Model]`,
    `Model | None`, nested), so a misspelt key is named beside the other problems of the same data
    ("email.subject: is required" beside the misspelt "email.subjcet", a misspelt key in one item of a
    list beside another item's refused value)."""
    found: dict[str, str] = {}
    model = validated if isinstance(validated, type) and issubclass(validated, BaseModel) else type(validated)
    if issubclass(model, BaseModel) and isinstance(data, dict):
        fields = model.model_fields
        names = {name: name for name in fields}
        names.update({info.alias: name for name, info in fields.items() if isinstance(info.alias, str)})
        chosen = model.model_config.get("extra") in ("allow", "ignore")
        for key, value in data.items():
            inner = (*path, key)
            if key not in names:
                if not chosen:
                    found[key_path(inner)] = f"{_NOT_A_FIELD} ({where} has {', '.join(fields) or 'no fields'})"
            elif validated is not model:
                found.update(keys_dropped(value, getattr(validated, names[key]), key_path(inner), inner))
            else:
                found.update(_keys_dropped_as(value, fields[names[key]].annotation, inner))
    elif isinstance(validated, dict) and isinstance(data, dict):
        for key, value in data.items():
            if key in validated:
                found.update(keys_dropped(value, validated[key], key_path((*path, key)), (*path, key)))
    elif isinstance(validated, (list, tuple)) and isinstance(data, list) and len(data) == len(validated):
        for index, (value, kept) in enumerate(zip(data, validated, strict=True)):
            found.update(keys_dropped(value, kept, key_path((*path, index)), (*path, index)))
    return found


def annotation_bare(annotation: Any) -> Any:
    """The type inside Annotated[type, ...] (a field's constraints), or the type itself."""
    return typing.get_args(annotation)[0] if typing.get_origin(annotation) is typing.Annotated else annotation


def _keys_dropped_as(data: Any, annotation: Any, path: tuple[int | str, ...]) -> dict[str, str]:
    """keys_dropped for `data` that did not validate, by its declared type: the models inside it are
    read from the type, as there are no validated values to read them from. A union of several types
    is left alone: which member pydantic would take is not known without a value it took."""
    annotation = annotation_bare(annotation)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [m for m in args if m is not type(None)]
        return _keys_dropped_as(data, members[0], path) if len(members) == 1 else {}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return keys_dropped(data, annotation, key_path(path), path)
    found: dict[str, str] = {}
    if isinstance(data, list) and origin in _SEQUENCES and args:
        # tuple[A, B] types each place; tuple[A, ...] and list[A] one type for all.
        fixed = origin is tuple and not (len(args) == 2 and args[1] is Ellipsis)
        for index, value in enumerate(data):
            if fixed and index >= len(args):
                break
            found.update(_keys_dropped_as(value, args[index] if fixed else args[0], (*path, index)))
    elif isinstance(data, dict) and origin in _MAPPINGS and len(args) == 2:
        for key, value in data.items():
            found.update(_keys_dropped_as(value, args[1], (*path, key)))
    return found


_SEQUENCES = (list, tuple, set, frozenset, collections.abc.Sequence, collections.abc.Set)
_MAPPINGS = (dict, collections.abc.Mapping)


def problems_line(errors: dict[str, str] | list[tuple[str, str]], *, limit: int = 5) -> str:
    """{field: what is wrong} as one line, "to: is required; topic: …", at most `limit` of them and then
    how many more (also for the JSON API's own request fields). A list of (field or key path, what is
    wrong) may name a field more than once: its remainder is counted in problems, not fields."""
    pairs = list(errors.items()) if isinstance(errors, dict) else list(errors)
    shown = [f"{'the state as a whole' if field == WHOLE_STATE else field}: {problem}" for field, problem in pairs[:limit]]
    more = len(pairs) - limit
    unit = ("more field", "more fields") if isinstance(errors, dict) else ("more problem", "more problems")
    return "; ".join(shown) + (f"; and {_count(more, *unit)}" if more > 0 else "")


def json_problem(exc: json.JSONDecodeError) -> str:
    """Where text stopped being JSON: "unterminated string starting at line 1, column 1". Python's own
    message ends in "at" for some errors ("Unterminated string starting at"), which put "at at" before
    the position."""
    msg = exc.msg[:1].lower() + exc.msg[1:]
    where = f"line {exc.lineno}, column {exc.colno}"
    return f"{msg} {where}" if msg.endswith(" at") else f"{msg} at {where}"


class KeyRepeated(ValueError):
    """A key given twice in one JSON object (args[0]): object_once_each refuses it."""


def object_once_each(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json.loads's object_pairs_hook refusing a key given twice in one object, as the API refuses it: json
    keeps the last one, so `{"decision": "reject", "decision": "approve"}` would be an approval nobody meant."""
    value: dict[str, Any] = {}
    for key, item in pairs:
        if key in value:
            raise KeyRepeated(key)
        value[key] = item
    return value


class JsonUnreadable(ValueError):
    """Text json_value_read cannot take, though it may be JSON; args[0] says why, as what the text does
    ("gives the key 'a' more than once in one object; give it once")."""


def json_value_read(text: str, *, strict: bool = True) -> Any:
    """A JSON value typed into a form or on a command line. json.JSONDecodeError for text that is not
    JSON (each caller says how to write it there); JsonUnreadable for a key given twice in one object,
    and for what json refuses otherwise, a whole number of more than 4,300 digits or nesting deeper
    than Python recurses (a traceback before). `strict=False` takes line breaks typed inside text."""
    try:
        return json.loads(text, strict=strict, object_pairs_hook=object_once_each)
    except KeyRepeated as exc:
        raise JsonUnreadable(f"gives the key {exc.args[0]!r} more than once in one object; give it once") from None
    except json.JSONDecodeError:
        raise
    except (ValueError, RecursionError):
        raise JsonUnreadable("holds a whole number of more than 4,300 digits, or nests too deeply, to be read; no "
                             "field takes one") from None


def has_nul(text: str) -> bool:
    """PostgreSQL stores no NUL character in text or JSON."""
    return "\x00" in text


# How every surface says it of a text, a key or a value: "the label's value holds half of …".
HALF_A_PAIR = "holds half of a UTF-16 surrogate pair (such as \\ud800), which is not a character"


def has_lone_surrogate(text: str) -> bool:
    """Half of a UTF-16 surrogate pair (a "\\ud800" escape with no partner) is not a character: PostgreSQL
    refuses it, and Python cannot encode it as UTF-8."""
    return any("\ud800" <= c <= "\udfff" for c in text)


def text_at(value: Any, path: str, bad: Callable[[str], bool]) -> str | None:
    """The key path of the first text in `value` (JSON, at `path`) for which `bad` holds, or of the object
    holding the first such key; None if there is none. Nested paths read "email.cc[1]"."""
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if bad(item):
                return where
        elif isinstance(item, dict):
            if any(bad(str(key)) for key in item):
                return where
            stack.extend((inner, f"{where}.{key}" if where else str(key)) for key, inner in reversed(item.items()))
        elif isinstance(item, (list, tuple)):
            stack.extend((inner, f"{where}[{index}]") for index, inner in reversed(list(enumerate(item))))
    return None
