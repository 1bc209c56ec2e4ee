"""People are named as they are known (their full name, else their username) wherever a person reads
about them: a second decision used to be refused "already decided (approve) by reviewer2", a claim
"claimed by reviewer", and the run page, the checkpoint page, the item page, the budget stop, the prices
page and the PDF report said "started by engineer". The ledger keeps recording usernames: they are part
of the signed, verified entries."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from audit.models import LedgerEntry
from orchestrator.cost_admin import PriceInput, price_save
from review.claims import item_claim
from review.models import ReviewItem
from review.selectors import pending_item_for_run
from review.services import AlreadyDecided, DecisionInput, review_decide
from tests.pdf_text import pdf_text
from tests.review.fixtures import email_item  # noqa: F401  (fixture)


@pytest.fixture
def decided(email_item,  # noqa: F811
             engineer_user, reviewer2_user) -> ReviewItem:
    """An item of a run Emery Engineer started, approved by Rowan Reviewer."""
    item = email_item(actor=engineer_user)
    review_decide(item=item, actor=reviewer2_user, decision=DecisionInput("approve"))
    return ReviewItem.objects.select_related("run").get(pk=item.pk)


def test_a_second_decision_is_refused_naming_who_decided(decided, reviewer_user):
    with pytest.raises(AlreadyDecided) as refused:
        review_decide(item=decided, actor=reviewer_user, decision=DecisionInput("approve"))

    assert "already decided (approve) by Rowan Reviewer at " in str(refused.value)
    # What the ledger signed is unchanged: the decider's username.
    assert LedgerEntry.objects.get(chain=decided.run.thread_id, kind="decision").actor == "reviewer2"


def test_a_resume_of_a_run_without_a_pending_gate_names_who_decided_its_last(decided):
    with pytest.raises(Exception, match=r"already decided \(approve\) by Rowan Reviewer at "):
        pending_item_for_run(decided.run)


def test_a_claim_someone_else_holds_is_refused_naming_them(email_item,  # noqa: F811
                                                            reviewer_user, reviewer2_user):
    item = email_item()
    item_claim(item=item, actor=reviewer_user)

    with pytest.raises(Exception, match="claimed by Riley Reviewer until"):
        item_claim(item=item, actor=reviewer2_user)


def test_the_run_page_checkpoint_page_and_item_page_name_who_started_the_run(decided, engineer_user, reviewer_user,
                                                                           client_for):
    thread_id = decided.run.thread_id
    engineer = client_for(engineer_user)

    run_page = engineer.get(reverse("audit:run", args=[thread_id])).content.decode()
    checkpoint = engineer.get(reverse("audit:checkpoint", args=[thread_id, 0])).content.decode()
    item_page = client_for(reviewer_user).get(f"/inbox/{decided.pk}/").content.decode()

    assert "started by Emery Engineer" in run_page and "started by engineer" not in run_page
    assert "by <strong>Emery Engineer</strong>" in checkpoint
    assert "<dt>Started by</dt><dd>Emery Engineer</dd>" in item_page


def test_a_user_without_a_full_name_is_named_by_their_username(email_item,  # noqa: F811
                                                               make_user, client_for):
    starter = make_user("nameless", "engineer")
    item = email_item(actor=starter)

    run_page = client_for(starter).get(reverse("audit:run", args=[item.run.thread_id])).content.decode()

    assert "started by nameless" in run_page


def test_the_prices_page_names_who_last_changed_a_price(admin_user, client_for):
    price_save(data=PriceInput(pattern="named-model*", input_per_mtok=Decimal("1"), output_per_mtok=Decimal("2"),
                               cached_input_per_mtok=Decimal("0"), effective_from=date(2025, 1, 1), note="list price"),
               actor=admin_user)

    page = client_for(admin_user).get(reverse("audit:prices")).content.decode()

    assert "list price · Alex Admin" in page


def test_the_pdf_report_names_who_started_the_run_and_who_decided(decided, compliance_user, client_for,
                                                                 tmp_path):
    response = client_for(compliance_user).post(reverse("audit:ledger_export"),
                                                {"run": decided.run.thread_id, "format": "pdf"})
    path = tmp_path / "report.pdf"
    path.write_bytes(b"".join(response.streaming_content))
    facts, rest = pdf_text(path).split("Decisions", 1)
    decisions, timeline = rest.split("Costs by node", 1)

    assert " UTC by Emery Engineer" in facts
    assert "Rowan Reviewer" in decisions
    # The timeline prints each ledger entry's actor as the ledger signed it.
    assert "reviewer2" in timeline.split("Timeline", 1)[1]
