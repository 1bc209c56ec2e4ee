"""The start page's form: the registered workflows as choices (each with its input's fields, an example
input and its JSON schema), and the boxes read into what run_start takes.

run_start checks everything a start can get wrong (the input against the schema, its size, the labels,
the thread id) for the API, the command line and this page alike; this module reads only what the form
adds: a box that must hold JSON, and one that holds a label a line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.http import QueryDict

from audit.fork_form import type_name
from orchestrator.graph import Graph
from orchestrator.registry import workflows
from orchestrator.value_errors import JsonUnreadable, json_problem, json_value_read
from review.edit_form import limits_note

# What a required field's placeholder in the example input is, by its JSON schema type.
_BLANK = {"string": "", "integer": 0, "number": 0, "boolean": False, "array": [], "object": {}}


@dataclass(frozen=True)
class InputField:
    name: str
    type: str  # as people read it: "text", "list of text", "GateDecision object or null"
    required: bool
    default: str  # the default as JSON; "" for a required field
    limits: str  # "at least 1, at most 5", "up to 200 characters", or ""
    description: str


@dataclass(frozen=True)
class WorkflowChoice:
    name: str
    version: str
    description: str
    nodes: int
    gates: int
    fields: list[InputField]
    required_labels: tuple[str, ...]
    example: str  # the input box's text when this workflow is picked
    labels_example: str  # the labels box's: a "key=" line per required label
    schema: str  # the state's JSON schema, indented


def workflow_choices() -> list[WorkflowChoice]:
    """Every registered workflow, by name."""
    return [_choice(graph) for _name, graph in sorted(workflows().items())]


def _choice(graph: Graph) -> WorkflowChoice:
    schema = graph.state.model_json_schema()
    properties = schema.get("properties", {})
    fields = []
    for name, info in graph.state.model_fields.items():
        key = info.alias or name
        required = info.is_required()
        fields.append(InputField(
            name=key, type=type_name(info.annotation), required=required,
            default="" if required else json.dumps(properties.get(key, {}).get("default"), ensure_ascii=False),
            limits=limits_note(info), description=info.description or ""))
    return WorkflowChoice(
        name=graph.name, version=graph.version, description=graph.description, nodes=len(graph.nodes),
        gates=sum(1 for node in graph.nodes.values() if node.is_gate), fields=fields,
        required_labels=graph.required_labels, example=_example(schema),
        labels_example="".join(f"{key}=\n" for key in graph.required_labels),
        schema=json.dumps(schema, indent=2, ensure_ascii=False))


def _example(schema: dict[str, Any]) -> str:
    """The schema's own first example (`model_config = ConfigDict(json_schema_extra={"examples": [...]})`),
    else the required fields with an empty value of their type to fill in; `{}` when none is required."""
    examples = schema.get("examples")
    if isinstance(examples, list) and examples and isinstance(examples[0], dict):
        return json.dumps(examples[0], indent=2, ensure_ascii=False)
    properties = schema.get("properties", {})
    blank = {key: _BLANK.get(properties.get(key, {}).get("type")) for key in schema.get("required", [])}
    return json.dumps(blank, indent=2, ensure_ascii=False) if blank else "{}"


@dataclass
class StartForm:
    """The form as typed, shown back as typed when the start is refused."""

    workflow: str = ""
    input: str = "{}"
    labels: str = ""
    thread_id: str = ""
    request_key: str = ""

    @classmethod
    def posted(cls, data: QueryDict, request_key: str) -> StartForm:
        # Browsers send a textarea's line breaks as CRLF.
        return cls(workflow=data.get("workflow", ""), input=data.get("input", "").replace("\r\n", "\n"),
                   labels=data.get("labels", "").replace("\r\n", "\n"), thread_id=data.get("thread_id", "").strip(),
                   request_key=request_key)


def read_input(text: str) -> tuple[Any, str]:
    """(the input box's JSON object, "") or (None, what is wrong and where). An empty box is `{}`."""
    if not text.strip():
        return {}, ""
    try:
        # strict=False: a line break typed inside text is taken as one, as the fork form takes it.
        value = json_value_read(text, strict=False)
    except JsonUnreadable as exc:
        return None, str(exc)
    except json.JSONDecodeError as exc:
        return None, (f"is not valid JSON: {json_problem(exc)}. Keys and text need double quotes, e.g. "
                      '{"topic": "hello"}')
    if not isinstance(value, dict):  # said here: run_start would read `null` as no input, i.e. `{}`
        return None, 'must be a JSON object whose keys are state fields, e.g. {"topic": "hello"}'
    return value, ""


def read_labels(text: str) -> tuple[dict[str, str], str]:
    """(labels, "") from "key=value" lines, blank lines skipped, or ({}, what is wrong on which line).
    Spaces around the "=" are the form's, not the label's: "customer = acme" is customer=acme."""
    labels: dict[str, str] = {}
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep:
            return {}, (f"line {number} ({line.strip()[:40]!r}) is not key=value; write one label a line, "
                        "e.g. customer=acme-42")
        if key in labels:
            return {}, f"line {number} gives the label {key!r} again; give each label once"
        labels[key] = value
    return labels, ""


def box_of(path: str) -> str:
    """The form box a run_start field error belongs to: "input.topic" is the input box's."""
    for box in ("input", "labels"):
        if path == box or path.startswith((f"{box}.", f"{box}[")):
            return box
    return path
