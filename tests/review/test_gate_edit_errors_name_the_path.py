"""A refused gate edit says where inside the field the problem is, and a rule over the whole state
is still explained (not an empty "violates the schema: ."); a typed blob pointer is refused."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from pydantic import BaseModel, model_validator

from review.services import DecisionError, validate_edits


class Order(BaseModel):
    lines: list[int]
    total: int

    @model_validator(mode="after")
    def total_matches(self) -> Order:
        if sum(self.lines) != self.total:
            raise ValueError("total must equal the sum of the lines")
        return self


GRAPH = SimpleNamespace(state=Order)
REQUEST = {"args": {"lines": [1, 2], "total": 3}}
STATE = {"lines": [1, 2], "total": 3}


def test_a_bad_item_inside_a_list_is_named_by_its_position():
    with pytest.raises(DecisionError) as refused:
        validate_edits(GRAPH, REQUEST, STATE, {"lines": [1, "two"]})
    assert refused.value.field_errors["lines"] == "must be a whole number, not 'two' (at lines[1])"
    assert "lines: must be a whole number, not 'two' (at lines[1])" in str(refused.value)


def test_a_rule_over_the_whole_state_is_explained():
    with pytest.raises(DecisionError) as refused:
        validate_edits(GRAPH, REQUEST, STATE, {"total": 4})
    assert "total must equal the sum of the lines" in str(refused.value)
    assert refused.value.field_errors == {"(state)": "total must equal the sum of the lines"}


class Note(BaseModel):
    meta: dict[str, str]
    text: str


def test_a_typed_blob_pointer_is_refused_but_the_words_in_text_are_fine():
    graph, request = SimpleNamespace(state=Note), {"args": {"meta": {}, "text": ""}}
    state = {"meta": {}, "text": ""}
    with pytest.raises(DecisionError, match="reserved for the engine's pointers") as refused:
        validate_edits(graph, request, state, {"meta": {"$blob": "ab" * 32}})
    assert str(refused.value).startswith("meta.$blob: ") and "Type the value itself" in str(refused.value)
    assert "meta" in refused.value.field_errors
    assert validate_edits(graph, request, state, {"text": 'see {"$blob": "x"} in the docs'}) == {
        "text": 'see {"$blob": "x"} in the docs'}
