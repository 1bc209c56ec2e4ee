"""Every link on the cost pages opens for the role that sees it: each persona crawls the cost pages
it may open, follows every link (and htmx fetch) on them, and meets no 403. Compliance reads spend
but may not open run pages, so it sees run ids as text, not links."""

from __future__ import annotations

from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest

from orchestrator.models import Budget, CostAlert, SpendEvent
from orchestrator.services import run_start
from orchestrator.state import dumps
from review.models import ReviewItem


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and (name == "hx-get" or (tag == "a" and name == "href")):
                self.urls.append(value)


def _links(html: str, base: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    found = []
    for url in parser.urls:
        absolute = urljoin(base, url)
        parts = urlsplit(absolute)
        if url.startswith("#") or parts.netloc not in ("", "testserver") or parts.path.startswith("/static/"):
            continue
        found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


@pytest.fixture
def costs_with_everything_linkable(db, admin_user):
    """Spend on two runs (top runs), a label budget with a stopped run (the admin's Decide link) and
    a cost alert naming a run: every kind of link the cost pages can show."""
    runs = [run_start(workflow="research_agent", input={"question": "q"}, labels={"department": "legal"})
            for _ in range(2)]
    for run in runs:
        SpendEvent.objects.create(run=run, workflow=run.workflow, node="answer", visit=0, call_index=0,
                                  labels=run.labels, provider="demo", model="demo-small", input_tokens=100,
                                  output_tokens=50, cached_tokens=0, cost=Decimal("0.25"))
    budget = Budget.objects.create(name="Legal", scope="label", match="department=legal", cap=Decimal("0.30"),
                                   soft_thresholds=[50])
    facts = {"budget": "Legal", "budget_id": str(budget.pk), "cap": "0.30", "spent": "0.25", "reserved": "0",
             "max_cost": "0.10", "model": "demo-small"}
    ReviewItem.objects.create(run=runs[0], step=1, node="answer", kind="budget_exceeded", workflow="research_agent",
                              reviewer_group="admin", request=dumps({"budget": facts}))
    CostAlert.objects.create(kind="threshold", budget=budget, threshold=50, run=runs[0],
                             message="Budget Legal passed 50% of its cap")
    return runs


def _crawl_costs(client) -> dict[str, int]:
    """Status of every URL linked from the cost pages reachable from /costs/ (crawled within /costs/)."""
    seen: dict[str, int] = {}
    queue = ["/costs/"]
    while queue:
        page = queue.pop(0)
        response = client.get(page)
        seen[page] = response.status_code
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        for url in _links(response.content.decode(), page):
            if url in seen or url in queue:
                continue
            if urlsplit(url).path.startswith("/costs/"):
                queue.append(url)
            else:
                seen[url] = client.get(url).status_code
    return seen


@pytest.mark.parametrize("persona", ["admin_user", "engineer_user", "compliance_user"])
def test_every_link_on_the_cost_pages_opens_for_the_role_that_sees_it(request, client_for, persona,
                                                                     costs_with_everything_linkable):
    seen = _crawl_costs(client_for(request.getfixturevalue(persona)))
    refused = {url: status for url, status in seen.items() if status >= 400}
    assert not refused, f"links that answer an error: {refused}"
    assert {"/costs/", "/costs/prices/"} <= set(seen), "the crawl went through the tabs"


@pytest.mark.parametrize("persona", ["admin_user", "engineer_user"])
def test_engineers_and_admins_follow_a_top_run_to_its_page(request, client_for, persona,
                                                            costs_with_everything_linkable):
    page = client_for(request.getfixturevalue(persona)).get("/costs/").content.decode()
    for run in costs_with_everything_linkable:
        assert f'href="/runs/{run.thread_id}/"' in page


def test_compliance_sees_top_runs_as_text_not_as_links_it_may_not_open(client_for, compliance_user,
                                                                        costs_with_everything_linkable):
    client = client_for(compliance_user)
    page = client.get("/costs/").content.decode()
    for run in costs_with_everything_linkable:
        assert f'<span class="mono" data-testid="run-id">{run.thread_id}</span>' in page
        assert f"/runs/{run.thread_id}/" not in page
        assert client.get(f"/runs/{run.thread_id}/").status_code == 403, "the rule the page follows"
    fragment = client.get("/costs/", headers={"HX-Request": "true"}).content.decode()
    assert "/runs/" not in fragment, "the htmx refresh renders the same fragment"


def test_reviewers_are_offered_no_way_into_the_cost_pages(client_for, reviewer_user, costs_with_everything_linkable):
    client = client_for(reviewer_user)
    home = client.get("/", follow=True).content.decode()
    assert not [url for url in _links(home, "/inbox/") if url.startswith("/costs/")]
    for url in ("/costs/", "/costs/prices/", "/costs/budgets/", "/costs/chargeback.csv?label_key=department"):
        assert client.get(url).status_code == 403


def test_an_admin_follows_a_run_stopped_by_a_budget_to_its_page(client_for, admin_user,
                                                                costs_with_everything_linkable):
    # The stopped run's id was plain text: to see what the run had done before deciding, the admin
    # had to copy it into the runs list's search.
    stopped = costs_with_everything_linkable[0]
    page = client_for(admin_user).get("/costs/budgets/").content.decode()
    row = page[page.index('data-testid="budget-stop"'):]
    row = row[:row.index("</tr>")]
    assert f'href="/runs/{stopped.thread_id}/"' in row
