"""The edit card tells a reviewer what a field takes before they send it: an IntEnum's choices read
"GOLD (2)", not a bare 2 whose meaning is in the code, and the limits of an optional bounded field
(`Annotated[int, Field(ge=1, le=5)] | None`) show as help like those of a plain bounded one, and a
number box carries them as its min and max."""

from __future__ import annotations

import enum
import re
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from review.edit_form import edit_fields, parse_edits
from tests.review.fixtures import dispatch_item  # noqa: F401  (fixture)


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


class Limits(BaseModel):
    attempts: Annotated[int, Field(ge=1, le=5)] | None = None
    copies: int = Field(default=1, gt=0, lt=10)
    weight: float = Field(default=1.5, gt=0)


def test_a_number_box_carries_its_inclusive_limits() -> None:
    fields = {f.name: f for f in edit_fields(Limits, {"attempts": None, "copies": 1, "weight": 1.5})}
    assert (fields["attempts"].minimum, fields["attempts"].maximum) == ("1", "5")
    assert (fields["copies"].minimum, fields["copies"].maximum) == ("1", "9")  # whole numbers between 0 and 10
    assert (fields["weight"].minimum, fields["weight"].maximum) == ("", "")  # no smallest float above 0


def test_the_item_page_s_number_box_has_the_field_s_limits(dispatch_item, reviewer_user, client_for) -> None:  # noqa: F811
    item = dispatch_item()
    page = client_for(reviewer_user).get(f"/inbox/{item.pk}/").content.decode()
    assert re.search(r'<input type="number" step="1" min="1" max="5" id="arg-attempts"', page)
    assert "<small class=\"muted\">at least 1, at most 5</small>" in page
