"""The edit card tells a reviewer what a field takes before they send it: an IntEnum's choices read
"GOLD (2)", not a bare 2 whose meaning is in the code, and the limits of an optional bounded field
(`Annotated[int, Field(ge=1, le=5)] | None`) show as help like those of a plain bounded one."""

from __future__ import annotations

import enum
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from review.edit_form import edit_fields, parse_edits


class Tier(enum.IntEnum):
    BASIC = 1
    GOLD = 2


class Colour(enum.Enum):
    RED = "red"


class Shipment(BaseModel):
    tier: Tier = Tier.BASIC
    spare_tier: Tier | None = None
    colour: Colour = Colour.RED
    mixed: Literal[Tier.GOLD, "2"] = "2"
    attempts: Annotated[int, Field(ge=1, le=5)] | None = None
    bounded: int = Field(default=1, ge=1, le=5)
    code: Annotated[str, Field(max_length=8)] | None = None


def _fields() -> dict:
    args = {"tier": 1, "spare_tier": None, "colour": "red", "mixed": "2", "attempts": None, "bounded": 1, "code": None}
    return {f.name: f for f in edit_fields(Shipment, args)}


def test_an_int_enum_s_choices_are_named_and_still_send_their_numbers() -> None:
    fields = _fields()
    assert [label for _key, label, _sel in fields["tier"].options] == ["BASIC (1)", "GOLD (2)"]
    assert fields["tier"].shown == "BASIC (1)"
    assert [label for _key, label, _sel in fields["spare_tier"].options] == ["(none)", "BASIC (1)", "GOLD (2)"]
    # Text values keep their text; the member's name tells it from text that reads alike.
    assert [label for _key, label, _sel in fields["colour"].options] == ["red"]
    assert [label for _key, label, _sel in fields["mixed"].options] == ["GOLD (2)", "2"]
    edits, errors = parse_edits(Shipment, {"tier": 1}, {"arg-tier": "2"})
    assert (edits, errors) == ({"tier": 2}, {})


def test_an_optional_bounded_field_shows_its_limits_as_a_plain_one_does() -> None:
    fields = _fields()
    assert fields["bounded"].help == "at least 1, at most 5"
    assert fields["attempts"].help == "at least 1, at most 5"
    assert fields["code"].help == "up to 8 characters"
    assert fields["code"].widget == "text"  # short text, not an 8-row box
