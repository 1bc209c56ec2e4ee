"""In Chromium: on the filter forms whose results htmx swaps in (Costs, Decision log), a field the
server refuses is marked invalid for assistive technology (aria-invalid, pointing at the message),
and once it is set right it is no longer: the form itself is not re-rendered, so a stale mark
would otherwise keep telling a screen reader user that a corrected date is wrong."""

from __future__ import annotations

from playwright.sync_api import expect

from review.services import DecisionInput, review_decide
from tests.review.fixtures import email_item  # noqa: F401  (fixture)


def test_costs_dates_are_marked_while_refused_and_cleared_when_set_right(page, login_as, engineer_user):
    login_as(page, engineer_user)
    page.goto("/costs/?since=2026-11-01&until=2026-11-30")
    since = page.locator("#costs-filters [name=since]")
    expect(since).not_to_have_attribute("aria-invalid", "true")

    since.fill("2026-12-01")  # after To: refused through htmx
    expect(page.locator("#costs-error-since")).not_to_be_empty()
    expect(since).to_have_attribute("aria-invalid", "true")
    expect(since).to_have_attribute("aria-describedby", "costs-error-since")

    page.locator("#costs-filters [name=until]").fill("2026-12-31")
    expect(page.get_by_test_id("total-spend")).to_be_visible()
    expect(since).not_to_have_attribute("aria-invalid", "true")


def test_decision_log_dates_are_marked_while_refused_and_cleared_when_set_right(
        page, login_as, compliance_user, reviewer_user, email_item):  # noqa: F811
    review_decide(item=email_item(), actor=reviewer_user, decision=DecisionInput("approve"))
    login_as(page, compliance_user)
    page.goto("/audit/decisions/?until=2026-11-01")
    since, until = page.locator("#decision-filters [name=since]"), page.locator("#decision-filters [name=until]")

    since.fill("2026-12-01")  # after To: refused through htmx
    expect(page.get_by_test_id("filter-error")).to_be_visible()
    expect(since).to_have_attribute("aria-invalid", "true")
    expect(since).to_have_attribute("aria-describedby", "filter-error")
    expect(until).not_to_have_attribute("aria-invalid", "true")

    until.fill("")
    expect(page.get_by_test_id("filter-error")).to_have_count(0)
    expect(since).not_to_have_attribute("aria-invalid", "true")
    expect(since).not_to_have_attribute("aria-describedby", "filter-error")
