"""email_approval: draft an email with an LLM → a person reviews it → send it (idempotent effect)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from orchestrator.demo.outbox import outbox_send
from orchestrator.graph import END, START, GateDecision, GateRequest, Graph, append


class EmailState(BaseModel):
    to: str = Field(min_length=3, max_length=300, pattern=r"^[^@\s]+@[^@\s]+$")
    topic: str = Field(min_length=1, max_length=2000)
    subject: str = Field(default="", max_length=200)
    body: str = Field(default="", max_length=20000)
    model: str = "demo-small"
    decision: GateDecision | None = None
    message_id: str = ""
    log: Annotated[list[str], append] = []


def draft(state: EmailState, ctx) -> dict:
    feedback = ""
    if state.decision and state.decision.decision == "respond":
        feedback = f"\nThe reviewer asked for changes: {state.decision.response}"
    reply = ctx.llm(
        f"Draft an email to {state.to} about: {state.topic}.{feedback}",
        system="You write short, courteous business emails.",
        model=state.model,
        max_tokens=300,
    )
    subject = f"About {state.topic}"[:200]
    body = _without_subject_line(reply.text)
    return {"subject": subject, "body": body, "log": [f"drafted {len(body)} chars"]}


def _without_subject_line(text: str) -> str:
    # Models often open a drafted email with their own "Subject: ..." line; the email has a subject
    # field already, and a second, different subject inside the body would go out to the recipient.
    first, _, rest = text.partition("\n")
    return rest.lstrip("\n") if first.lower().startswith("subject:") else text


def review_request(state: EmailState) -> GateRequest:
    return GateRequest(
        action="send_email",
        args={"to": state.to, "subject": state.subject, "body": state.body},
        description=(
            f"The agent proposes to send this email to **{state.to}**.\n\n"
            f"It was drafted by `{state.model}` from the topic: _{state.topic}_"
        ),
        relevant=["topic", "model"],
        risk="high",
        due_in_seconds=24 * 3600,
    )


def send(state: EmailState, ctx) -> dict:
    result = ctx.effect("send_email", outbox_send, state.to, state.subject, state.body)
    message_id = (result or {}).get("message_id", "dry-run")
    return {"message_id": message_id, "log": [f"sent as {message_id}"]}


graph = Graph("email_approval", state=EmailState, description="Draft an email, have a person approve it, send it.")
graph.node("draft", draft)
graph.gate("review", request=review_request, on_reject=END, on_respond="draft")
graph.node("send", send)
graph.edge(START, "draft").edge("draft", "review").edge("review", "send").edge("send", END)
