"""The runs list's search box finds runs by any part of their thread id, in any case, and takes what
is typed literally: a % or _ matches that character, not any text (they are LIKE's wildcards)."""

from __future__ import annotations

import re

from orchestrator.services import run_start


def _listed(client, q: str) -> list[str]:
    page = client.get("/runs/", {"q": q})
    assert page.status_code == 200
    return re.findall(r'<a class="mono" href="/runs/([^/"]+)/"', page.content.decode())


def test_search_by_any_part_of_a_thread_id(client_for, engineer_user, pipeline_run):
    for thread_id in ("invoice-2026_Q3", "invoice-2026-q4", "refund-7"):
        run_start(workflow="email_approval", input={"to": "a@b.co", "topic": "t"}, thread_id=thread_id)
    client = client_for(engineer_user)

    assert sorted(_listed(client, "INVOICE-2026")) == ["invoice-2026-q4", "invoice-2026_Q3"]
    assert _listed(client, "2026_q") == ["invoice-2026_Q3"], "_ is the character, not any one character"
    assert _listed(client, "%") == [], "% is the character (no thread id has one), not any text"
    assert _listed(client, "no such run") == []
