"""Every page is served with a Content-Security-Policy that lets scripts come only from our static files,
so text from an LLM or a user that slipped past escaping still could not run. The pages keep working
under it: charts draw (their figures travel as JSON, drawn by static/js/charts.js), the inbox refreshes
itself but holds while rows are ticked (static/js/inbox.js, where an htmx filter would need eval), and no
page, the API docs and the Django admin included, trips the policy."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from orchestrator.models import SpendEvent
from tests.review.fixtures import email_item  # noqa: F401  (fixture)
from tests.timetravel.conftest import pipeline_run  # noqa: F401  (fixture)

# Recorded from the first script that runs in each page: Playwright's init script is not subject to the
# page's policy, and every refusal fires a securitypolicyviolation event.
WATCH = ("window.cspViolations = [];"
         "document.addEventListener('securitypolicyviolation',"
         " e => window.cspViolations.push(e.effectiveDirective + ' ' + (e.blockedURI || 'inline')));")


@pytest.fixture
def watched(page):
    page.add_init_script(WATCH)
    return page


def _violations(page) -> list[str]:
    return page.evaluate("window.cspViolations")


def test_the_policy_allows_scripts_only_from_the_site(client, admin_user):
    client.force_login(admin_user)
    policy = client.get("/inbox/").headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["base-uri"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"


def test_charts_draw_and_no_page_trips_the_policy(watched, login_as, admin_user, pipeline_run,  # noqa: F811
                                                  email_item):  # noqa: F811
    page = watched
    item = email_item()
    SpendEvent.objects.create(run=pipeline_run, workflow=pipeline_run.workflow, node="summarize", visit=0,
                              call_index=9, labels={}, provider="demo", model="demo-small", input_tokens=900,
                              output_tokens=300, cached_tokens=0, cost=Decimal("0.40"))
    login_as(page, admin_user)

    page.goto(f"/runs/{pipeline_run.thread_id}/")
    page.locator("#waterfall.js-plotly-plot .point").first.wait_for()
    assert _violations(page) == []

    page.goto("/costs/")
    page.locator("#chart-spend.js-plotly-plot").wait_for()
    page.locator("#chart-tokens.js-plotly-plot").wait_for()
    assert _violations(page) == []

    thread = pipeline_run.thread_id
    for path, ready in [("/inbox/", "#inbox-rows tr.inbox-row"), (f"/inbox/{item.pk}/", "#approve-form"),
                        ("/runs/", "main"), ("/runs/new/", "form.start-form"), (f"/runs/{thread}/checkpoints/3/", "main"),
                        (f"/runs/{thread}/checkpoints/3/fork/", "form"), ("/audit/", "main"),
                        ("/audit/decisions/", "main"), ("/api/docs", ".swagger-ui .opblock"),
                        ("/admin/", "#content"), ("/admin/auth/user/add/", "#content form")]:
        page.goto(path)
        page.locator(ready).first.wait_for()
        assert _violations(page) == [], path


def test_the_inbox_refreshes_but_holds_while_rows_are_ticked(watched, login_as, reviewer_user,
                                                            email_item):  # noqa: F811
    page = watched
    email_item(topic="first")
    login_as(page, reviewer_user)
    page.goto("/inbox/")
    rows = page.locator("#inbox-rows tr.inbox-row")
    expect(rows).to_have_count(1)

    email_item(topic="second")
    expect(rows).to_have_count(2, timeout=15_000)  # the 5 s refresh brought it in

    rows.first.get_by_role("checkbox").check()
    email_item(topic="third")
    # Count the refreshes htmx tries from now on: two of them come and go, and neither replaces the rows.
    page.evaluate("window.polls = 0; document.addEventListener('htmx:confirm',"
                  " e => { if (e.target.id === 'inbox-rows') window.polls++; })")
    page.wait_for_function("() => window.polls >= 2", timeout=15_000)
    expect(rows).to_have_count(2)
    expect(rows.first.get_by_role("checkbox")).to_be_checked()

    rows.first.get_by_role("checkbox").uncheck()
    expect(rows).to_have_count(3, timeout=15_000)
    assert _violations(page) == []
