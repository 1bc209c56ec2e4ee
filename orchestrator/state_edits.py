"""A person's edits to a run's state, checked once for the two places they are made: a reviewer's
"edit then approve" at a gate (review.services) and an engineer's edited fork (orchestrator.forks).

`state_edits_check` refuses, naming the key path and what to do instead:
  - edits that are not an object of field → value, or that name a field the caller does not let
    anyone edit there (a gate's arguments; a fork's state schema fields);
  - a value JSON cannot hold (NaN, Infinity), or text PostgreSQL cannot (half of a surrogate pair);
  - a blob pointer (an object with a `$blob` key, at any depth) that the state does not already
    hold, exactly as it holds it. Pointers are made by the engine and by nodes (orchestrator.blobs,
    ctx.blobs), never typed: a typed one would load whatever stored document it names, another
    run's included, into this run. One the state already holds names nothing the run cannot read
    already, so an edit may keep it, move it, or change what is around it;
  - a state the schema rejects once the edits are applied;
  - a key inside an edited value that the schema would drop (a misspelt "subjcet" in an object whose
    model has "subject"), at any depth, unless that model sets `extra` itself: pydantic ignores such a
    key by default, so the person would believe they changed a value the run never sees;
  - a value of another JSON type than its field's: "yes" or "true" for a bool, "3" for an int. Lax
    pydantic reads "yes" as true and "3" as 3, but a person editing JSON who typed text where a flag
    or a number goes has almost always made a mistake (meant another field, or quoted by habit), so
    the edited values are read as pydantic's strict JSON mode reads them: as the type they were
    written with, except the types JSON can only write as text (a date, a datetime, an enum's value,
    a decimal), which the stored state holds as text too;
and returns the fields whose value changes, as the schema dumps them (a date as ISO text). The last
three are checked together and refused together, every problem named by its key path, so a person
who fixes what the refusal names is not refused again for something it left out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from orchestrator.blobs import BLOB_KEY
from orchestrator.state import dumps, unserializable_at
from orchestrator.value_errors import (
    HALF_A_PAIR,
    WHOLE_STATE,
    has_lone_surrogate,
    key_path,
    keys_dropped,
    problems_line,
    schema_problem,
    text_at,
)


class StateEditRefused(ValueError):
    """Nothing was changed. `field_errors` maps each field at fault to what is wrong with it (for a form,
    which has one box a field); `path_errors` each key path at fault inside the edits ("email.cc[1]"; ""
    for a rule over the whole state), for the API, whose body holds the edits under a key of its own."""

    def __init__(self, message: str, field_errors: dict[str, str] | None = None,
                 path_errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.field_errors = field_errors or {}
        self.path_errors = self.field_errors if path_errors is None else path_errors

    def api_fields(self, under: str) -> dict[str, str]:
        """`path_errors` as the API's `fields`, the edits being the body's key `under` ("edits")."""
        return {f"{under}.{path}" if path else under: problem for path, problem in self.path_errors.items()}


def state_edits_check(*, schema: type[BaseModel], state: dict[str, Any], edits: Any, editable: Collection[str],
                      where: str, not_editable: str) -> dict[str, Any]:
    """Check `edits` against `schema` with the rest of `state` (hydrated); return the changed fields.

    `where` ("at this gate") and `not_editable` (the reason shown by a field outside `editable`)
    are the caller's words for its refusal of a field that may not be edited there."""
    if not isinstance(edits, dict):
        raise StateEditRefused(f"edits must be a JSON object of field name → new value, not {type(edits).__name__}.",
                               path_errors={"": "must be an object of field name → new value"})
    unknown = sorted(set(edits) - set(editable))
    if unknown:
        raise StateEditRefused(f"these fields cannot be edited {where}: {', '.join(unknown)}; "
                               f"the fields you may edit are {', '.join(editable)}.",
                               dict.fromkeys(unknown, not_editable))
    held: set[str] | None = None
    for key, value in edits.items():
        _refuse_non_json(key, value)
        _refuse_not_unicode(key, value)
        # A field sent back as it is cannot forge anything: a gate's form sends every argument,
        # a node's own ctx.blobs pointer among them.
        if value != state.get(key):
            if held is None:
                held = _pointers_in(state)
            _refuse_pointer(key, value, held)
    # Every problem of the edit is named at once, by key path: what lax validation refuses, what
    # strict JSON mode refuses besides (a quoted number beside another field's refused value), and the
    # keys the schema would drop (a misspelt key in one item of a list beside a refused value in another).
    refused: list[ErrorDetails] = []
    model: BaseModel | None = None
    try:
        model = schema.model_validate({**state, **edits})
    except ValidationError as exc:
        refused = exc.errors()
    seen = {tuple(err["loc"]) for err in refused}
    quoted = [err for err in _other_json_types(schema, state, edits) if tuple(err["loc"]) not in seen]
    # Only the edits: a key the state already held was kept or dropped by the schema long ago, and is
    # nothing this person typed. Top-level keys were checked against `editable` above.
    dropped = keys_dropped(edits, schema if model is None else model, schema.__name__)
    if refused or quoted or dropped:
        raise _refusal(list(edits), refused, quoted, dropped)
    assert model is not None  # validated: `refused` is empty
    dumped = model.model_dump(mode="json", include=set(edits))
    return {key: value for key, value in dumped.items() if state.get(key) != value}


# At most this many problems are named in the refusal's one line; the form marks every field at fault.
PROBLEMS_NAMED = 20


def _refusal(fields: list[str], refused: list[ErrorDetails], quoted: list[ErrorDetails],
             dropped: dict[str, str]) -> StateEditRefused:
    """One refusal naming every problem, in the order of the edited fields, and saying what to do about
    each kind; its field_errors hold all of a field's problems, its path_errors all of a key path's."""
    # (key path, what is wrong, the state field holding it ("" path: a rule over the whole state), whether
    # the line names it by its field, as the schema's problems are, or by its path, as a dropped key is)
    problems = [(key_path(tuple(err["loc"])), schema_problem(err), str(err["loc"][0]) if err["loc"] else WHOLE_STATE,
                 True) for err in refused + quoted]
    problems += [(path, problem, _field_of(path), False) for path, problem in dropped.items()]
    order = {name: index for index, name in enumerate(fields)}
    problems.sort(key=lambda entry: order.get(entry[2], len(order)))
    errors: dict[str, str] = {}
    paths: dict[str, str] = {}
    named: list[tuple[str, str]] = []
    for path, problem, field, by_field in problems:
        marked = problem if path in (field, "") else f"{problem} (at {path})"
        errors[field] = f"{errors[field]}; {marked}" if field in errors else marked
        paths[path] = f"{paths[path]}; {problem}" if path in paths else problem
        named.append((field, marked) if by_field else (path, problem))
    advice = []
    if refused:
        advice.append("correct the value" if len(refused) == 1 else "correct those values")
    if quoted:
        advice.append("type each value as its field's type, with no quotes around a number or true/false")
    if dropped:
        advice.append("spell each key as one of the fields named, or remove it")
    todo = "; ".join(advice) + (", then try again" if len(advice) == 1 else "; then try again")
    line = problems_line(named, limit=PROBLEMS_NAMED)
    return StateEditRefused(f"the edit was not accepted: {line}. {todo[:1].upper()}{todo[1:]}; nothing was changed.",
                            errors, paths)


def _field_of(path: str) -> str:
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def _other_json_types(schema: type[BaseModel], state: dict[str, Any], edits: dict[str, Any]) -> list[ErrorDetails]:
    """The errors of edited values whose JSON type is not their field's (see the module's docstring).

    The whole state is validated, so the workflow's own validators see what they always see, but only
    errors inside edited fields count: the rest is what the run already holds, which lax validation
    took when it was written and this person did not type."""
    try:
        schema.model_validate_json(dumps({**state, **edits}), strict=True)
    except ValidationError as exc:
        return [err for err in exc.errors() if err["loc"] and err["loc"][0] in edits]
    return []


def _refuse_non_json(key: str, value: Any) -> None:
    try:
        dumps(value)
    except (TypeError, ValueError):
        path, what = unserializable_at(value, key) or (key, type(value).__name__)
        raise StateEditRefused(f"{path}: {what} is not a JSON value. Type text in double quotes, a number, "
                               "true, false, null, a list or an object.", {key: "not a JSON value"},
                               {path: "not a JSON value"}) from None


def _refuse_not_unicode(key: str, value: Any) -> None:
    """Text holding half of a UTF-16 surrogate pair (a JSON box's "\\ud800" with no partner) is not a character:
    PostgreSQL refuses it in the decision's and the item's JSON, where it was a 500."""
    path = text_at(value, key, has_lone_surrogate)
    if path is not None:
        raise StateEditRefused(f"{path}: the text {HALF_A_PAIR}; type whole characters, then try again. Nothing "
                               "was changed.",
                               {key: "holds half of a surrogate pair, which is not a character"},
                               {path: "holds half of a surrogate pair, which is not a character"})


def _refuse_pointer(key: str, value: Any, held: set[str]) -> None:
    path = pointer_not_held_at(value, key, held)
    if path is not None:
        raise StateEditRefused(
            f"{path}: edits may not contain the key {BLOB_KEY!r} except in a pointer the state already holds, "
            "unchanged: it is reserved for the engine's pointers to stored documents. Type the value itself, "
            "or leave the pointer as it was.",
            {key: f"the key {BLOB_KEY!r} is the engine's (at {path}); type the value itself"},
            {path: f"the key {BLOB_KEY!r} is the engine's; type the value itself"})


def _pointers_in(value: Any) -> set[str]:
    """Every blob pointer in `value` (the state), each as `_pointer_text`."""
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if BLOB_KEY in item:
                found.add(_pointer_text(item))
            else:
                stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return found


def _pointer_text(pointer: dict[str, Any]) -> str:
    # The same pointer whatever order a browser or client sent its keys in; nothing else is the same.
    return json.dumps(pointer, sort_keys=True, separators=(",", ":"))


def pointer_not_held_at(value: Any, path: str, held: Collection[str] = ()) -> str | None:
    """The key path of the first `$blob` key in `value` (a JSON value) whose object is not one of the
    `held` pointers, or None. Only keys count: the same words inside text are text."""
    if isinstance(value, dict):
        if BLOB_KEY in value:
            return None if _pointer_text(value) in held else f"{path}.{BLOB_KEY}"
        items: Any = ((f"{path}.{k}", v) for k, v in value.items())
    elif isinstance(value, (list, tuple)):
        items = ((f"{path}[{index}]", v) for index, v in enumerate(value))
    else:
        return None
    for inner_path, inner in items:
        found = pointer_not_held_at(inner, inner_path, held)
        if found is not None:
            return found
    return None
