"""An item's decision history read "reviewer reject 2026-11-23 22:55 UTC", and the run timeline
"reject by reviewer": a username and a bare code word. Both now say who in full, and what they did, as
a sentence: "Rejected by Riley Reviewer", "Approved with edits by Riley Reviewer", "Approved by Rowan
Reviewer" (a username still stands in for a person who has no name on file)."""

from __future__ import annotations

from orchestrator.executor import run_advance
from review.services import DecisionInput, review_decide
from tests.review.fixtures import email_item, payment_item, payment_workflow  # noqa: F401  (fixtures)


def _history(page) -> list[str]:
    return [" ".join(li.split()) for li in page.locator(".decisions-card li").all_inner_texts()]


def test_a_rejection_reads_as_a_sentence_naming_the_person(page, login_as, screenshot, reviewer_user,
                                                            engineer_user, email_item):  # noqa: F811
    item = email_item()
    review_decide(item=item, actor=reviewer_user,
                  decision=DecisionInput("reject", reason="The tone is wrong for a first reminder"))
    login_as(page, reviewer_user)

    page.goto(f"/inbox/{item.pk}/")
    screenshot(page, "decision-history-rejected")
    [line] = _history(page)
    assert line.startswith("Rejected by Riley Reviewer · "), line
    assert line.endswith("UTC “The tone is wrong for a first reminder”"), line
    assert "Nothing is left to decide: this item was rejected by Riley Reviewer." in \
        page.get_by_test_id("decide-panel").inner_text()
    assert " ".join(page.get_by_test_id("item-status").inner_text().split()).startswith(
        "Rejected by Riley Reviewer at ")

    run_advance(item.run_id, worker="test")
    page.context.clear_cookies()
    login_as(page, engineer_user)
    page.goto(f"/runs/{item.run.thread_id}/timeline/")
    decision = page.get_by_test_id("timeline-row").filter(has=page.locator("td", has_text="Rejected"))
    assert " ".join(decision.locator("td.gate-cell").inner_text().split()) == \
        "Rejected by Riley Reviewer “The tone is wrong for a first reminder”"


def test_an_edit_and_an_approval_say_so(page, login_as, screenshot, make_user, reviewer_user, reviewer2_user,
                                        email_item, payment_item):  # noqa: F811
    edited = email_item()
    review_decide(item=edited, actor=reviewer_user,
                  decision=DecisionInput("edit", edits={"subject": "Q3 numbers, as promised"}))
    four_eyes = payment_item(approvals=2)
    review_decide(item=four_eyes, actor=reviewer2_user, decision=DecisionInput("approve"))
    nameless = make_user("sam", "reviewer")  # no first or last name on file
    other = payment_item(approvals=2)
    review_decide(item=other, actor=nameless, decision=DecisionInput("approve"))
    login_as(page, reviewer_user)

    page.goto(f"/inbox/{edited.pk}/")
    [line] = _history(page)
    assert line.startswith("Approved with edits by Riley Reviewer · ") and line.endswith("Changed: subject"), line

    page.goto(f"/inbox/{four_eyes.pk}/")
    screenshot(page, "decision-history-four-eyes")
    [line] = _history(page)
    assert line.startswith("Approved by Rowan Reviewer · "), line

    page.goto(f"/inbox/{other.pk}/")
    [line] = _history(page)
    assert line.startswith("Approved by sam · "), line
