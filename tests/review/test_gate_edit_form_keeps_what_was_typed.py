"""The gate's edit form shows back exactly what the reviewer typed when it refuses a field."""

from __future__ import annotations

from django.http import QueryDict
from pydantic import BaseModel

from review.edit_form import edit_fields, parse_edits


class Shipment(BaseModel):
    address: str
    items: list[str]


def test_text_that_is_not_json_is_refused_and_shown_back_as_typed():
    args = {"address": "1 Main St", "items": ["box"]}
    typed = '["box", "crate"'  # the closing bracket forgotten
    data = QueryDict(mutable=True)
    data.update({"arg-address": "1 Main St", "arg-items": typed})

    edits, errors = parse_edits(Shipment, args, data)

    assert errors == {"items": "not valid JSON (expecting ',' delimiter at line 1, column 16); fix it or restore the original."}
    shown = {row.name: row for row in edit_fields(Shipment, args, submitted=edits, errors=errors)}
    assert shown["items"].text == typed and shown["items"].error and shown["items"].changed
    assert shown["address"].text == "1 Main St" and not shown["address"].changed
