"""A dispatch workflow whose gate asks about a field of each kind the edit form shows differently:
numeric, text and mixed choices (Literal, IntEnum), optional ones, an optional flag, a float, a
decimal, a date, a date and time, optional text, a list of objects and a bounded count. Its last
node writes down what it was given, with each value's Python type, so a test can tell 2 from "2"."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from orchestrator.graph import END, START, GateDecision, GateRequest, Graph


class Tier(enum.IntEnum):
    BASIC = 1
    GOLD = 2
    PLATINUM = 3


class Contact(BaseModel):
    name: str
    email: str = ""


class Dispatch(BaseModel):
    priority: Literal[1, 2, 3] = 1
    channel: Literal["email", "sms"] = "email"
    tier: Tier = Tier.BASIC
    speed: Literal["auto", 1, 2] = "auto"
    retries: Literal[1, 2, 3] | None = None
    confirmed: bool | None = None
    weight: float = Field(default=1.5, gt=0)
    price: Decimal = Decimal("9.90")
    ship_on: date = date(2025, 3, 1)
    pickup_at: datetime | None = None
    note: str | None = None
    contacts: list[Contact] = []
    attempts: int = Field(default=1, ge=1, le=5)
    decision: GateDecision | None = None
    dispatched: str = ""


ARGS = ("priority", "channel", "tier", "speed", "retries", "confirmed", "weight", "price", "ship_on", "pickup_at",
        "note", "contacts", "attempts")


def prepare(state: Dispatch, ctx) -> dict:
    return {}


def dispatch_request(state: Dispatch) -> GateRequest:
    return GateRequest(action="dispatch", description="Dispatch the parcel.",
                       args={name: getattr(state, name) for name in ARGS})


def dispatch(state: Dispatch, ctx) -> dict:
    return {"dispatched": ", ".join(f"{name}={getattr(state, name)!r}" for name in ("priority", "tier", "speed",
                                                                                    "retries"))}


graph = Graph("dispatch", state=Dispatch, description="Dispatch a parcel after a person approves it.")
graph.node("prepare", prepare)
graph.gate("approve_dispatch", request=dispatch_request, on_reject=END)
graph.node("dispatch", dispatch)
graph.edge(START, "prepare").edge("prepare", "approve_dispatch").edge("approve_dispatch", "dispatch")
graph.edge("dispatch", END)
