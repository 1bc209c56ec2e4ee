"""Every From/To filter (runs list, regression replay, decision log, ledger export, costs) refuses a
malformed date saying the format it expects, and a start after the end saying to swap them, in the
same words (audit.date_range)."""

from __future__ import annotations

import pytest

from audit.date_range import DateRange, date_parse, date_range_parse
from orchestrator.services import run_start

FORMAT = "is not a date: use a date like 2025-01-31 (YYYY-MM-DD)"
SWAP = "the start date is after the end date: swap them"


@pytest.fixture
def pages(client_for, engineer_user, compliance_user):
    """(what the page answers to these dates) for each page with From/To, as its users reach it."""
    engineer, compliance = client_for(engineer_user), client_for(compliance_user)
    return {
        "runs list": lambda dates: engineer.get("/runs/", dates),
        "regression replay": lambda dates: engineer.get("/runs/regression/", {"workflow": "email_approval", **dates}),
        "decision log": lambda dates: compliance.get("/audit/decisions/", dates),
        "ledger export": lambda dates: compliance.post("/audit/export/", {"format": "jsonl", **dates}),
        "costs": lambda dates: compliance.get("/costs/", dates),
    }


@pytest.mark.parametrize("page", ["runs list", "regression replay", "decision log", "ledger export", "costs"])
def test_each_page_says_the_same_about_bad_dates(pages, page):
    malformed = pages[page]({"since": "31/01/2025"}).content.decode()
    malformed_end = pages[page]({"until": "June"}).content.decode()
    reversed_ = pages[page]({"since": "2025-06-10", "until": "2025-06-01"}).content.decode()

    assert FORMAT in malformed
    assert FORMAT in malformed_end  # every page has a To field to show it on
    assert SWAP in reversed_


def test_the_reading_itself():
    assert date_range_parse({"since": " 2025-01-01 ", "until": ""}) == DateRange(
        since=date_parse("2025-01-01"), until=None)
    refused = date_range_parse({"since": "2025-02-01", "until": "yesterday"})
    assert refused.errors == {"until": f"'yesterday' {FORMAT}"}
    assert refused.message() == f"To: 'yesterday' {FORMAT}"
    swapped = date_range_parse({"since": "2025-02-01", "until": "2025-01-01"})
    assert swapped.reversed and swapped.errors == {"since": SWAP}


def test_the_regression_page_lists_no_runs_under_a_broken_filter(pages):
    run = run_start(workflow="email_approval", input={"to": "a@b.co", "topic": "x"})  # listed without the filter
    assert run.thread_id in pages["regression replay"]({}).content.decode()

    page = pages["regression replay"]({"until": "June"}).content.decode()

    assert "Fix the highlighted filters above to see which runs they choose." in page
    assert "will be replayed" not in page
    assert "<button type=\"submit\" disabled>Replay 0 runs</button>" in page
    assert run.thread_id not in page
