"""Every time on the run pages says which clock it is on. Times are shown in UTC (settings.TIME_ZONE),
which a reader in another zone cannot guess from "21:30:48" alone; the ledger, the decision log and
the inbox already say "UTC", and the run pages and an item's decision history now do too."""

from __future__ import annotations

import re

from review.services import DecisionInput, review_decide
from tests.review.fixtures import email_item  # noqa: F401  (fixture)

STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)?"


def _text(html: str) -> str:
    """The page as a reader sees it: tags dropped, runs of white space made one."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_runs_list_run_page_timeline_and_checkpoint_name_utc(client_for, engineer_user, pipeline_run):
    client = client_for(engineer_user)
    t = pipeline_run.thread_id

    runs = _text(client.get("/runs/").content.decode())
    assert "Started (UTC)" in runs

    run_page = _text(client.get(f"/runs/{t}/").content.decode())
    assert re.search(rf"Started {STAMP} UTC", run_page), "the run's start names its zone"
    assert "Time (UTC)" in run_page, "the timeline's time column names its zone"

    assert "Time (UTC)" in _text(client.get(f"/runs/{t}/timeline/").content.decode())

    checkpoint = _text(client.get(f"/runs/{t}/checkpoints/3/").content.decode())
    assert re.search(rf"{STAMP} UTC", checkpoint), "the checkpoint's time names its zone"


def test_an_item_s_decisions_name_utc(client_for, reviewer_user, email_item):  # noqa: F811
    item = email_item()
    review_decide(item=item, actor=reviewer_user, decision=DecisionInput("reject", reason="wrong tone"))

    page = _text(client_for(reviewer_user).get(f"/inbox/{item.pk}/").content.decode())
    assert re.search(rf"Rejected by Riley Reviewer · {STAMP} UTC", page), page[page.find("Decisions"):][:300]
