"""The regression replay form listed the runs it would replay, at most "At most" of them, but never how
many runs the filters chose: with 20 shown an engineer could not tell 20 from 2,000, and with none the
Replay button was greyed out beside "0 runs will be replayed" without saying why. It now says how many
runs match (counted up to 1,000, then "1,000+") and how many of them the replay takes; with none, it
says that no run matches and what to change, and the disabled button points to that explanation."""

from __future__ import annotations

import re

import pytest

from orchestrator.models import Run
from orchestrator.services import run_start

PHONE = 390


@pytest.fixture
def three_runs(transactional_db) -> list[Run]:
    return [run_start(workflow="email_approval", input={"to": "a@b.co", "topic": f"t{i}"}) for i in range(3)]


def _said(page) -> str:
    return " ".join(page.get_by_test_id("replay-count").inner_text().split())


@pytest.mark.parametrize("width", [1280, PHONE])
def test_the_form_says_how_many_runs_match_and_how_many_it_replays(page, login_as, screenshot, engineer_user,
                                                                  three_runs, width):
    page.set_viewport_size({"width": width, "height": 900})
    login_as(page, engineer_user)
    page.goto("/runs/regression/?workflow=email_approval")
    screenshot(page, f"regression-count-{width}")
    assert _said(page).startswith("3 runs of email_approval match these filters; all 3 will be replayed:")

    page.goto("/runs/regression/?workflow=email_approval&limit=2")
    assert _said(page).startswith("3 runs of email_approval match these filters; the newest 2 will be replayed")
    assert page.get_by_role("button", name="Replay 2 runs").is_enabled()
    if width == PHONE:
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE, "the page scrolls sideways"


def test_with_no_run_matching_the_button_is_disabled_and_says_why(page, login_as, screenshot, engineer_user,
                                                                  three_runs):
    login_as(page, engineer_user)
    page.goto("/runs/regression/?workflow=email_approval&status=failed")
    screenshot(page, "regression-count-none")

    assert _said(page) == ("No runs of email_approval match these filters (runs still running are left out): "
                           "change the status, widen the dates or clear the label.")
    button = page.get_by_role("button", name=re.compile("^Replay"))
    assert button.is_disabled()
    assert button.get_attribute("aria-describedby") == page.get_by_test_id("replay-count").get_attribute("id")


def test_a_count_past_a_thousand_is_said_as_1000_plus(page, login_as, engineer_user, three_runs):
    # Rows alone (no run needs to have run to be counted): 1,001 more runs of the workflow.
    Run.objects.bulk_create([Run(thread_id=f"email_approval-bulk-{i}", workflow="email_approval",
                                 graph_version=three_runs[0].graph_version) for i in range(1001)])
    login_as(page, engineer_user)
    page.goto("/runs/regression/?workflow=email_approval")
    assert _said(page).startswith("1,000+ runs of email_approval match these filters; the newest 20 will be replayed")
