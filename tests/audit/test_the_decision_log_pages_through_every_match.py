"""The decision log shows every matching decision, a page at a time: it showed the newest 50 and
stopped, with nothing to say that older decisions matched the filters too."""

from __future__ import annotations

import re
from datetime import timedelta

from django.utils import timezone

from audit.selectors_ledger import PAGE_SIZE
from review.models import ReviewDecision
from tests.review.fixtures import email_item  # noqa: F401  (fixture)


def _rows(page: str) -> list[str]:
    return re.findall(r'data-testid="decision-row">\s*<td class="mono"[^>]*>([^<]+)</td>\s*<td[^>]*>(?:<div>)?[^<]*'
                      r'<small class="muted">([^<]+)</small>', page)


def test_older_decisions_are_a_link_away_with_the_filters_kept(email_item, make_user, compliance_user,  # noqa: F811
                                                                client_for):
    item = email_item()
    start = timezone.now() - timedelta(hours=1)
    ReviewDecision.objects.bulk_create(
        ReviewDecision(item=item, actor=make_user(f"approver{n:02d}", "reviewer"), decision="approve",
                       created_at=start + timedelta(seconds=n))
        for n in range(PAGE_SIZE + 1))
    client = client_for(compliance_user)

    first = client.get("/audit/decisions/?decision=approve").content.decode()
    shown = [actor for _, actor in _rows(first)]
    assert len(shown) == PAGE_SIZE and shown[0] == f"approver{PAGE_SIZE:02d}"
    older = re.search(r'<a href="\?([^"]+)" data-testid="older-decisions">Older decisions →</a>', first).group(1)
    assert older.startswith("decision=approve&amp;cursor=")

    second = client.get("/audit/decisions/?" + older.replace("&amp;", "&")).content.decode()
    assert [actor for _, actor in _rows(second)] == ["approver00"]
    assert 'data-testid="older-decisions"' not in second and '<a href="?decision=approve">← Newest</a>' in second
