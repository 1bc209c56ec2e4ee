"""A value the workflow's state schema refuses is explained in words a reviewer or engineer reads,
the same words wherever it was typed: a gate's "Edit, then approve", a fork's state boxes and a
run's input (orchestrator.value_errors). Pydantic's programmer messages never reach a page."""

from __future__ import annotations

import html as html_lib
import re
from typing import Literal

import pytest
from pydantic import BaseModel, Field, ValidationError

from orchestrator.models import Run
from orchestrator.services import RunError, run_start
from orchestrator.value_errors import json_problem, schema_field_errors, schema_problems
from review.models import ReviewItem
from tests.review.fixtures import email_item  # noqa: F401  (fixture)

EMAIL = r"^[^@\s]+@[^@\s]+$"
PATTERN = f"doesn't have the expected form (it must match '{EMAIL}')"


class Form(BaseModel):
    to: str = Field(default="a@b.co", pattern=EMAIL)
    name: str = Field(default="x", min_length=1, max_length=5)
    code: str = Field(default="abc", min_length=3)
    count: int = Field(default=1, gt=0, le=10)
    share: float = Field(default=0.5, ge=0, lt=1)
    active: bool = True
    kind: Literal["a", "b"] = "a"
    lines: list[int] = Field(default=[], max_length=2)
    required: str


@pytest.mark.parametrize(("values", "field", "reads"), [
    ({"to": "not-an-email"}, "to", PATTERN),
    ({}, "required", "is required"),
    ({"count": "three"}, "count", "must be a whole number, not 'three'"),
    ({"count": 2.5}, "count", "must be a whole number, not 2.5"),
    ({"count": 0}, "count", "must be more than 0"),
    ({"count": 11}, "count", "must be at most 10"),
    ({"share": -1}, "share", "must be at least 0"),
    ({"share": 1}, "share", "must be less than 1"),
    ({"share": "half"}, "share", "must be a number, not 'half'"),
    ({"name": ""}, "name", "must not be empty"),
    ({"code": "ab"}, "code", "must have at least 3 characters"),
    ({"name": "toolong"}, "name", "must have at most 5 characters (it has 7)"),
    ({"lines": [1, 2, 3]}, "lines", "must hold at most 2 items (it has 3)"),
    ({"lines": [1, "two"]}, "lines", "must be a whole number, not 'two' (at lines[1])"),
    ({"active": "maybe"}, "active", "must be true or false, not 'maybe'"),
    ({"kind": "c"}, "kind", "must be one of 'a' or 'b', not 'c'"),
])
def test_each_common_error_reads_as_what_a_good_value_is(values, field, reads):
    with pytest.raises(ValidationError) as refused:
        Form.model_validate({"required": "r", **values} if field != "required" else values)
    assert schema_field_errors(refused.value)[field] == reads


def test_several_fields_at_fault_are_each_named_in_one_line():
    with pytest.raises(ValidationError) as refused:
        Form.model_validate({"to": "x", "count": 0})
    assert schema_problems(refused.value) == f"to: {PATTERN}; count: must be more than 0; required: is required"


def test_json_errors_say_where_without_stammering():
    import json

    with pytest.raises(json.JSONDecodeError) as broken:
        json.loads('"unterminated')
    assert json_problem(broken.value) == "unterminated string starting at line 1, column 1"


def test_run_input_reads_the_same(db):
    with pytest.raises(RunError) as refused:
        run_start(workflow="email_approval", input={"to": "not-an-email", "topic": "x"})
    assert str(refused.value) == f"the input was not accepted: to: {PATTERN}. Correct it and start the run again."


def test_a_gate_edit_shows_the_reason_in_the_banner_and_under_the_field(email_item, reviewer_user,  # noqa: F811
                                                                       client_for):
    item = email_item()
    response = client_for(reviewer_user).post(f"/inbox/{item.pk}/decide/", {
        "decision": "edit", "arg-to": "not-an-email", "arg-subject": "About Q3 numbers"})

    page = html_lib.unescape(response.content.decode())
    banner = re.search(r'data-testid="decision-error">(.*?)</div>', page).group(1)
    under = re.search(r'data-testid="error-to">(.*?)</small>', page).group(1)
    assert response.status_code == 422
    assert banner == f"The edit was not accepted: to: {PATTERN}. Correct the value, then try again; nothing was changed."
    assert under == PATTERN[:1].upper() + PATTERN[1:]
    assert "should match" not in page and "Input should" not in page
    assert ReviewItem.objects.get(pk=item.pk).status == "pending"


def test_a_fork_edit_reads_the_same_as_a_gate_edit(email_item, engineer_user, client_for):  # noqa: F811
    run = email_item().run
    response = client_for(engineer_user).post(f"/runs/{run.thread_id}/checkpoints/1/fork/",
                                              {"field_to": '"not-an-email"', "mode": "recorded"})

    page = html_lib.unescape(response.content.decode())
    banner = re.search(r'data-testid="fork-error">(.*?)</div>', page).group(1)
    assert response.status_code == 422
    assert banner == f"The edit was not accepted: to: {PATTERN}. Correct the value, then try again; nothing was changed."
    assert f'data-testid="field-error">to: {PATTERN}</small>' in page
    assert not Run.objects.filter(parent=run).exists()
