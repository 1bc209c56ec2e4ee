"""A refused gate edit says where inside the field the problem is, and a rule over the whole state
is still explained (not an empty "violates the schema: .")."""

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
    assert "(at 1)" in refused.value.field_errors["lines"]
    assert "lines: Input should be a valid integer" in str(refused.value)


def test_a_rule_over_the_whole_state_is_explained():
    with pytest.raises(DecisionError) as refused:
        validate_edits(GRAPH, REQUEST, STATE, {"total": 4})
    assert "total must equal the sum of the lines" in str(refused.value)
    assert refused.value.field_errors == {"(state)": "Value error, total must equal the sum of the lines"}
