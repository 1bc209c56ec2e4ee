"""The demo email workflow puts the model's draft in the body without the model's own "Subject:" line:
the email has a subject field, and a second, different subject in the body would reach the recipient."""

from __future__ import annotations

import json

from orchestrator.history import state_at


def test_the_reviewer_sees_one_subject_and_a_body_that_opens_with_the_greeting(email_item):
    item = email_item(to="ana@acme.example", topic="renewal")

    args = json.loads(item.request)["args"]
    assert args["subject"] == "About renewal"
    assert "subject:" not in args["body"].lower()
    assert args["body"].split(" ", 1)[0] in ("Hi", "Hello", "Dear")
    state = state_at(item.run_id, 1)
    assert state["log"] == [f"drafted {len(state['body'])} chars"]
