"""A suspended run whose workflow changed incompatibly (or was retired) cannot resume: every decide
path refuses with a sentence saying what to do, keeps the item pending, and never answers 500."""

from __future__ import annotations

import json

from orchestrator.models import Run
from review.models import ItemStatus, ReviewItem


def _orphan(item: ReviewItem, **change) -> None:
    Run.objects.filter(pk=item.run_id).update(**change)


def test_the_item_page_refuses_and_keeps_the_reason_typed(email_item, reviewer_user, client_for):
    item = email_item()
    _orphan(item, graph_version="000000000000.000000000000")

    page = client_for(reviewer_user).post(f"/inbox/{item.pk}/decide/",
                                          {"decision": "reject", "reason": "wrong recipient"})

    assert page.status_code == 422
    text = page.content.decode()
    assert "changed incompatibly" in text and "An engineer can cancel the run" in text
    assert "wrong recipient" in text  # what the reviewer typed is still in the form
    assert ReviewItem.objects.get(pk=item.pk).status == ItemStatus.PENDING


def test_the_api_refuses_with_a_4xx_naming_the_way_out(email_item, reviewer_user, client_for):
    item = email_item()
    _orphan(item, graph_version="000000000000.000000000000")

    answer = client_for(reviewer_user).post(f"/api/items/{item.pk}/decision", json.dumps({"decision": "approve"}),
                                            content_type="application/json")

    assert answer.status_code == 422 and "--force-version" in answer.json()["detail"]
    assert ReviewItem.objects.get(pk=item.pk).status == ItemStatus.PENDING


def test_bulk_approval_reports_the_run_it_could_not_resume_and_decides_the_rest(email_item, reviewer_user,
                                                                                client_for):
    stuck, fine = email_item(), email_item(to="ceo@example.com")
    _orphan(stuck, workflow="retired_workflow")

    page = client_for(reviewer_user).post("/inbox/bulk/", {"ids": [stuck.pk, fine.pk], "decision": "approve"},
                                          follow=True)

    assert page.status_code == 200
    assert "is not deployed here" in page.content.decode() and "GATEHOUSE_WORKFLOWS" in page.content.decode()
    assert ReviewItem.objects.get(pk=stuck.pk).status == ItemStatus.PENDING
    assert ReviewItem.objects.get(pk=fine.pk).status != ItemStatus.PENDING
