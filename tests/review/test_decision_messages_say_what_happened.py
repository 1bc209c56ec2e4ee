"""The confirmation after a decision says what happened to the run, read after the decision: a
rejection that ends the run says so; approving a budget stop whose cap is still too small says the
run will stop again and links to where the cap is raised."""

from __future__ import annotations

import json
from decimal import Decimal

from orchestrator.models import Budget
from review.models import ReviewItem


def _message(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def test_rejecting_says_the_run_ended_as_rejected(email_item, reviewer_user, client_for):
    item = email_item()

    response = client_for(reviewer_user).post(f"/inbox/{item.pk}/decide/",
                                              {"decision": "reject", "reason": "Wrong recipient"}, follow=True)

    message = _message(response)
    assert f"Rejected #{item.pk}" in message and "The run ended as rejected." in message
    assert "continues" not in message


def test_approving_and_responding_say_the_run_continues(email_item, reviewer_user, client_for):
    approved, answered = email_item(), email_item(topic="the outage")
    client = client_for(reviewer_user)

    approve = client.post(f"/inbox/{approved.pk}/decide/", {"decision": "approve"}, follow=True)
    respond = client.post(f"/inbox/{answered.pk}/decide/", {"decision": "respond", "response": "Shorter"},
                          follow=True)

    assert f"Approved #{approved.pk}" in _message(approve) and "The run continues." in _message(approve)
    assert f"Sent your response on #{answered.pk}" in _message(respond) and "The run continues." in _message(respond)


def _budget_stop(item: ReviewItem, *, cap: str) -> Budget:
    """Turn a pending item into the budget stop the executor makes when a call does not fit."""
    budget = Budget.objects.create(name="Email tiny cap", scope="global", match="", period="total",
                                   cap=Decimal(cap), soft_thresholds=[])
    request = json.loads(item.request)
    request["budget"] = {"budget": budget.name, "budget_id": str(budget.pk), "cap": cap, "spent": "0.0001",
                         "reserved": "0", "max_cost": "0.0004", "model": "demo-small"}
    ReviewItem.objects.filter(pk=item.pk).update(kind="budget_exceeded", reviewer_group="admin",
                                                 request=json.dumps(request))
    return budget


def test_approving_a_budget_stop_without_a_higher_cap_says_the_run_will_stop_again(email_item, admin_user,
                                                                                  client_for):
    item = email_item()
    _budget_stop(item, cap="0.0002")
    client = client_for(admin_user)

    page = client.get(f"/inbox/{item.pk}/").content.decode()
    assert f'href="/costs/budgets/stops/{item.pk}/"' in page  # the budget-stop page, before deciding
    assert "the run would stop again at once" in page

    response = client.post(f"/inbox/{item.pk}/decide/", {"decision": "approve"}, follow=True)

    message = _message(response)
    assert f"Approved #{item.pk}" in message
    assert "“Email tiny cap” is still $0.0002, below the $0.0005 its next call needs" in message
    assert "the run will stop again at the same call" in message and "continues" not in message
    assert '<a href="/costs/budgets/">raise the cap or end the run</a>' in response.content.decode()
    assert [m.level_tag for m in response.context["messages"]] == ["warning"]


def test_approving_a_budget_stop_once_the_cap_was_raised_says_the_run_continues(email_item, admin_user,
                                                                               client_for):
    item = email_item()
    budget = _budget_stop(item, cap="0.0002")
    Budget.objects.filter(pk=budget.pk).update(cap=Decimal("1.00"))

    response = client_for(admin_user).post(f"/inbox/{item.pk}/decide/", {"decision": "approve"}, follow=True)

    assert "The run continues." in _message(response) and "stop again" not in _message(response)
