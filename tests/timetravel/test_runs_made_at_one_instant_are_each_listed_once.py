"""Runs made at the same instant are each listed once across the runs list's pages, in id order
(the cursor names the last run shown by its time and its id, and the next page starts after both)."""

from __future__ import annotations

from django.utils import timezone

from audit.selectors_runs_list import RunFilters, runs_page
from orchestrator.models import Run
from orchestrator.services import run_start


def test_a_page_boundary_inside_one_instant_skips_and_repeats_none(pipeline_run):
    for index in range(5):
        run_start(workflow="email_approval", input={"to": "a@b.co", "topic": f"t{index}"})
    instant = timezone.now()
    Run.objects.update(created_at=instant)

    seen, cursor = [], ""
    while True:
        page = runs_page(filters=RunFilters(), cursor=cursor, limit=2)
        seen += [run.pk for run in page["runs"]]
        if not (cursor := page["next_cursor"]):
            break

    assert seen == sorted(Run.objects.values_list("pk", flat=True), reverse=True)
