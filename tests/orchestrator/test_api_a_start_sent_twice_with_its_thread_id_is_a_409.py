"""A start sent again with the same thread id (a client retrying after a timeout) is a 409, the answer
for a request that conflicts with one already done, as for a fork's request key sent twice; the first
run stands and no second one starts. It was a 422, the answer for a body to correct."""

from __future__ import annotations

import json

from orchestrator.models import Run


def test_a_start_repeated_with_its_thread_id_is_a_409_and_the_first_run_stands(api, engineer_user):
    client = api(engineer_user)
    body = json.dumps({"workflow": "email_approval", "thread_id": "invoice-42",
                       "input": {"to": "ana@example.com", "topic": "the Q3 invoice"}})

    first = client.post("/api/runs", body, content_type="application/json")
    again = client.post("/api/runs", body, content_type="application/json")

    assert first.status_code == 201
    assert again.status_code == 409
    assert again.json() == {"detail": "thread id 'invoice-42' is already used by another run; pick another or omit it."}
    assert list(Run.objects.values_list("thread_id", flat=True)) == ["invoice-42"]
    shown = client.get("/api/runs/invoice-42").json()
    assert (shown["status"], shown["step"], shown["created_at"]) == ("queued", 0, first.json()["created_at"])
