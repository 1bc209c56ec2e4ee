"""From/To on the decision log and the runs list take whole days in UTC, end to end: a decision at
the last microsecond of the To day is listed, one at midnight after it is not; 9999-12-31 as To is
"no end", not an error page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from review.models import ReviewDecision
from tests.review.fixtures import email_item  # noqa: F401  (fixture)


def test_the_decision_log_lists_a_day_to_its_last_moment(email_item, make_user, compliance_user,  # noqa: F811
                                                         client_for):
    item = email_item()
    midnight = datetime(2026, 3, 2, tzinfo=UTC)
    for name, at in (("who-before", midnight - timedelta(days=1) - timedelta(microseconds=1)),
                     ("who-first", midnight - timedelta(days=1)), ("who-last", midnight - timedelta(microseconds=1)),
                     ("who-after", midnight)):
        ReviewDecision.objects.create(item=item, actor=make_user(name, "reviewer"), decision="approve", created_at=at)
    client = client_for(compliance_user)

    page = client.get("/audit/decisions/", {"since": "2026-03-01", "until": "2026-03-01"}).content.decode()
    rows = page.split('data-testid="decision-rows"')[1]
    listed = {name for name in ("who-before", "who-first", "who-last", "who-after") if name in rows}
    assert listed == {"who-first", "who-last"}

    assert client.get("/audit/decisions/", {"since": "2026-03-02", "until": "9999-12-31"}).status_code == 200
