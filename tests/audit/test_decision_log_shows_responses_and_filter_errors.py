"""The decision log shows what a reviewer wrote back to the agent (escaped, long text clipped with the
whole of it one click away), and reversed dates say "swap them" as the export form does instead of
quietly matching nothing."""

from __future__ import annotations

from review.services import DecisionInput, review_decide
from tests.review.fixtures import email_item  # noqa: F401  (fixture)


def test_a_respond_row_shows_the_response_escaped(email_item, reviewer_user, compliance_user,  # noqa: F811
                                                  client_for):
    review_decide(item=email_item(), actor=reviewer_user,
                  decision=DecisionInput("respond", response="<b>Shorter</b> & mention the date"))

    html = client_for(compliance_user).get("/audit/decisions/").content.decode()

    assert "Response to the agent" in html
    assert "&lt;b&gt;Shorter&lt;/b&gt; &amp; mention the date" in html and "<b>Shorter" not in html


def test_a_long_response_is_clipped_with_the_whole_text_in_details(email_item, reviewer_user,  # noqa: F811
                                                                   compliance_user, client_for):
    text = "Please rewrite the second paragraph. " * 12 + "THE END"
    review_decide(item=email_item(), actor=reviewer_user, decision=DecisionInput("respond", response=text))

    html = client_for(compliance_user).get("/audit/decisions/").content.decode()

    assert '<details class="clipped"><summary><span class="clip">Please rewrite' in html
    assert f'<div class="full-text">{text}</div>' in html


def test_reversed_dates_say_swap_them_instead_of_no_decisions_match(email_item, reviewer_user,  # noqa: F811
                                                                    compliance_user, client_for):
    review_decide(item=email_item(), actor=reviewer_user, decision=DecisionInput("approve"))
    client = client_for(compliance_user)
    url = "/audit/decisions/?since=2025-06-10&until=2025-06-01"

    page = client.get(url)
    fragment = client.get(url, headers={"HX-Request": "true", "HX-Target": "decision-rows"})

    assert page.status_code == 400
    assert fragment.status_code == 200  # htmx swaps in only 2xx answers: the fragment carries the error
    for html in (page.content.decode(), fragment.content.decode()):
        assert "the start date is after the end date: swap them" in html
        assert "No decisions match" not in html
