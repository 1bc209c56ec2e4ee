"""An outreach workflow whose gate asks about an object (an email's subject, body and cc), a flag, a
count and a date, so tests can edit values inside an object and values of each JSON type, at the
gate and in a fork."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.graph import END, START, GateDecision, GateRequest, Graph


class Email(BaseModel):
    subject: str
    body: str = ""
    cc: list[str] = []


class Tracking(BaseModel):
    # A model that takes keys it does not declare on purpose (a campaign's own tags).
    model_config = ConfigDict(extra="allow")

    campaign: str = ""
    weekly: bool = False


class Outreach(BaseModel):
    email: Email
    tracking: Tracking = Tracking()
    urgent: bool = False
    attempts: int = Field(default=1, ge=1, le=10)
    send_on: date | None = None
    decision: GateDecision | None = None
    sent: bool = False


def prepare(state: Outreach, ctx) -> dict:
    return {"email": {**state.email.model_dump(), "body": state.email.body or f"About {state.email.subject}."}}


def outreach_request(state: Outreach) -> GateRequest:
    return GateRequest(
        action="send_outreach", description=f"Send **{state.email.subject}**.",
        args={"email": state.email.model_dump(mode="json"), "tracking": state.tracking.model_dump(mode="json"),
              "urgent": state.urgent, "attempts": state.attempts,
              "send_on": state.send_on.isoformat() if state.send_on else None},
    )


def send(state: Outreach, ctx) -> dict:
    return {"sent": True}


graph = Graph("outreach", state=Outreach, description="Send an email after a person approves it.")
graph.node("prepare", prepare)
graph.gate("approve_outreach", request=outreach_request, on_reject=END)
graph.node("send", send)
graph.edge(START, "prepare").edge("prepare", "approve_outreach").edge("approve_outreach", "send").edge("send", END)
