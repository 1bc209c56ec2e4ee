"""The runs list's filters: From and To pick whole days."""

from __future__ import annotations

import re
from datetime import datetime

from orchestrator.models import Run
from orchestrator.services import run_start


def _run_created(stamp: str) -> Run:
    run = run_start(workflow="email_approval", input={"to": "a@b.co", "topic": stamp})
    Run.objects.filter(pk=run.pk).update(created_at=datetime.fromisoformat(stamp))
    return run


def _listed(html: str) -> set[str]:
    return set(re.findall(r'data-testid="run-row">\s*<td><a class="mono" href="/runs/([^/]+)/"', html))


def test_from_and_to_list_the_runs_started_on_those_days(client_for, engineer_user):
    before = _run_created("2026-10-31T23:59:59+00:00")
    first = _run_created("2026-11-01T00:00:00+00:00")
    last = _run_created("2026-11-02T23:59:59+00:00")
    after = _run_created("2026-11-03T00:00:00+00:00")
    client = client_for(engineer_user)

    both = client.get("/runs/?since=2026-11-01&until=2026-11-02")
    assert both.status_code == 200
    assert _listed(both.content.decode()) == {first.thread_id, last.thread_id}
    assert _listed(client.get("/runs/?since=2026-11-01").content.decode()) == {
        first.thread_id, last.thread_id, after.thread_id}
    assert _listed(client.get("/runs/?until=2026-11-02").content.decode()) == {
        before.thread_id, first.thread_id, last.thread_id}
    html = both.content.decode()
    assert 'name="since" value="2026-11-01"' in html and 'name="until" value="2026-11-02"' in html

