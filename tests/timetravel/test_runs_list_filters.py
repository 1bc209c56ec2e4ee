"""The runs list's filters: From and To pick whole days, and a filter that does not parse stays in
its box with its error beside it, with no list under it that would pass for the answer."""

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
    return set(re.findall(r'data-testid="run-row">\s*<td[^>]*><a class="mono" href="/runs/([^/]+)/"', html))


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


def test_a_cost_that_does_not_parse_stays_in_its_box_and_lists_nothing(client_for, engineer_user):
    _run_created("2026-11-01T12:00:00+00:00")
    response = client_for(engineer_user).get("/runs/?min_cost=12,5&workflow=email_approval")
    html = response.content.decode()

    assert response.status_code == 400
    assert re.search(r'name="min_cost"[^>]*value="12,5"[^>]*aria-invalid="true"', html)
    # The error sits in the field's own label, next to the box.
    assert re.search(r'Cost ≥ \$<input name="min_cost"[^>]*>\s*<small class="field-error">use a number like 0.05',
                     html)
    assert 'data-testid="run-row"' not in html
    assert "No runs are listed: fix the highlighted filter above" in html
