"""The spend dashboard charts one bar slot per day, so it refuses a range longer than three years
instead of drawing it: typing a year into From sends its first digit on its own (since=0002-…), which
built a 37 MB page that froze the browser. The far end of the calendar answers rather than crashing."""

from __future__ import annotations

from datetime import date, timedelta

from django.urls import reverse

from audit.selectors_costs import MAX_DAYS


def test_a_year_typed_digit_by_digit_is_refused_without_figures(client_for, admin_user):
    response = client_for(admin_user).get(reverse("audit:costs"), {"since": "0002-10-25", "until": "2026-11-23"},
                                          headers={"HX-Request": "true"})
    page = response.content.decode()

    assert "show at most 1,096 days (three years) at a time: move From closer to To" in page
    assert 'id="chart-spend"' not in page and 'data-testid="total-spend"' not in page
    assert len(page) < 50_000


def test_three_years_are_charted(client_for, admin_user):
    until = date(2026, 11, 23)
    since = until - timedelta(days=MAX_DAYS - 1)
    response = client_for(admin_user).get(reverse("audit:costs"), {"since": since.isoformat(),
                                                                   "until": until.isoformat()})
    assert response.status_code == 200
    assert 'data-testid="total-spend"' in response.content.decode()

