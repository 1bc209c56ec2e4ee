"""In Chromium: picking a From date after the To date on the Costs page keeps both dates as picked,
says under From what is wrong, shows no figures, and leaves From in line with the other fields;
setting it right brings the figures back and clears the message (all through htmx, no reload)."""

from __future__ import annotations

from playwright.sync_api import expect

SWAP = "the start date is after the end date: swap them"


def _top(page, name: str) -> float:
    return page.locator(f".costs-filters [name={name}]").bounding_box()["y"]


def test_a_swapped_range_is_refused_in_place(page, login_as, screenshot, engineer_user):
    login_as(page, engineer_user)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/costs/?since=2026-11-01&until=2026-11-30")
    expect(page.get_by_test_id("total-spend")).to_be_visible()

    page.locator(".costs-filters [name=since]").fill("2026-12-01")  # htmx: hx-trigger="change"
    error = page.locator("#costs-error-since")
    expect(error).to_have_text(SWAP)
    expect(page.get_by_test_id("filter-error")).to_contain_text("No figures are shown for these filters.")
    expect(page.get_by_test_id("total-spend")).to_have_count(0)
    expect(page.locator(".costs-filters [name=since]")).to_have_value("2026-12-01")
    expect(page.locator(".costs-filters [name=until]")).to_have_value("2026-11-30")
    assert abs(_top(page, "since") - _top(page, "until")) < 1, "the error pushed From out of line"
    assert abs(_top(page, "since") - _top(page, "by")) < 1
    screenshot(page, "costs-swapped-range")

    page.goto("/costs/?since=2026-12-01&until=2026-11-01")  # the same, as a link someone shared
    expect(page.locator("#costs-error-since")).to_have_text(SWAP)
    assert abs(_top(page, "since") - _top(page, "until")) < 1

    page.locator(".costs-filters [name=until]").fill("2026-12-31")
    expect(page.get_by_test_id("total-spend")).to_be_visible()
    expect(page.locator("#costs-error-since")).to_be_empty()
    expect(page.locator("#costs-error-since")).to_be_hidden()
