"""A call whose maximum cost does not fit a budget is never made: the run suspends as
budget_exceeded with an inbox item for admins; raising the cap and approving resumes it at the same
node without paying again for the calls already made; rejecting ends it as `rejected`."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Sum

from orchestrator.budgets import budget_reserve, max_cost
from orchestrator.models import Budget, BudgetReservation, BudgetUsage, JournalEntry, Run, SpendEvent
from orchestrator.services import run_start
from orchestrator.state import loads
from review.models import ReviewItem
from review.services import DecisionInput, review_decide
from tests.costs.calls import draft_call, leased


def _start(**labels):
    return run_start(workflow="cost_probe", input={"calls": 2}, labels=labels)


def _stopped(advance, make_budget) -> tuple[Budget, Run, ReviewItem]:
    """A run stopped by a budget at its fourth call: (the budget, the run, its pending stop item)."""
    budget = make_budget(cap=_room_for_three_calls(advance))
    run = _start()
    advance(run)
    return budget, run, ReviewItem.objects.get(run=run, status="pending")


def _room_for_three_calls(advance) -> str:
    """A cap that fits the probe's first three calls but not the fourth's hold (the demo model is
    deterministic, so a reference run tells each call's cost and hold)."""
    reference = _start()
    advance(reference)
    events = list(SpendEvent.objects.filter(run=reference).order_by("id"))
    return str(sum((e.cost for e in events[:3]), Decimal(0)) + events[3].reserved - Decimal("0.000001"))


def test_the_run_suspends_before_the_call_that_does_not_fit(priced, advance, make_budget):
    make_budget("Legal monthly", cap=(cap := _room_for_three_calls(advance)), scope="label", match="department=legal", period="monthly")
    run = _start(department="legal")
    assert advance(run) == "suspended"
    run.refresh_from_db()
    assert (run.status, run.suspended_reason, run.next_node) == ("suspended", "budget_exceeded", "polish")
    assert SpendEvent.objects.filter(run=run).count() == 3, "the fourth call was never made"
    assert JournalEntry.objects.filter(run=run, kind="llm").count() == 3

    item = ReviewItem.objects.get(run=run, status="pending")
    assert (item.kind, item.reviewer_group, item.node) == ("budget_exceeded", "admin", "polish")
    request = loads(item.request)
    assert request["budget"]["budget"] == "Legal monthly"
    assert Decimal(request["budget"]["cap"]) == Decimal(cap)
    assert Decimal(request["budget"]["spent"]) == SpendEvent.objects.filter(run=run).aggregate(s=Sum("cost"))["s"]
    assert Decimal(request["budget"]["max_cost"]) > 0
    assert "Legal monthly" in request["description"] and "Raise the cap" in request["description"]
    assert not BudgetReservation.objects.exists()
    assert BudgetUsage.objects.get(budget__name="Legal monthly").reserved == 0


def test_raising_the_cap_and_approving_resumes_at_the_same_node_without_paying_twice(
        priced, advance, make_budget, admin_user):
    budget = make_budget(cap=_room_for_three_calls(advance))
    run = _start()
    advance(run)
    Budget.objects.filter(pk=budget.pk).update(cap=Decimal("1.00"))
    item = ReviewItem.objects.get(run=run, status="pending")
    review_decide(item=item, actor=admin_user, decision=DecisionInput("approve"))
    assert advance(run) == "completed"
    run.refresh_from_db()

    assert SpendEvent.objects.filter(run=run).count() == 4, "polish's first call came from the journal"
    spent = SpendEvent.objects.filter(run=run).aggregate(s=Sum("cost"))["s"]
    assert run.cost == spent, "the run total counts every call once"
    assert BudgetUsage.objects.get(budget=budget).spent == spent


def test_approving_without_raising_the_cap_suspends_again(priced, advance, make_budget, admin_user):
    make_budget(cap=_room_for_three_calls(advance))
    run = _start()
    advance(run)
    review_decide(item=ReviewItem.objects.get(run=run, status="pending"), actor=admin_user,
                  decision=DecisionInput("approve"))
    assert advance(run) == "suspended"
    run.refresh_from_db()
    assert run.suspended_reason == "budget_exceeded"
    assert SpendEvent.objects.filter(run=run).count() == 3


def test_rejecting_the_item_ends_the_run_as_rejected(priced, advance, make_budget, admin_user):
    make_budget(cap=_room_for_three_calls(advance))
    run = _start()
    advance(run)
    review_decide(item=ReviewItem.objects.get(run=run, status="pending"), actor=admin_user,
                  decision=DecisionInput("reject", reason="over budget this month"))
    run.refresh_from_db()
    assert run.status == "rejected"


def test_the_default_per_run_cap_stops_a_runaway_run_but_not_the_next_one(priced, advance, make_budget):
    make_budget("Per run", cap=_room_for_three_calls(advance), scope="run")
    first, second = _start(), _start()
    assert advance(first) == "suspended"
    assert advance(second) == "suspended", "each run has its own allowance, not a shared one"
    assert SpendEvent.objects.filter(run=second).count() == 3
    assert BudgetUsage.objects.filter(budget__name="Per run").count() == 2


def test_a_call_must_fit_every_applicable_budget_and_a_refusal_holds_nothing(priced, make_budget):
    from orchestrator.budgets import BudgetExceeded
    from orchestrator.llm import LLMRequest
    from orchestrator.spend import price_for

    roomy = make_budget("Roomy", cap="5.00")
    make_budget("Tight", cap="0.0001", scope="workflow", match="cost_probe")
    run = _start()
    leased(run, token=1)  # a worker holds it
    request = LLMRequest(model="demo-small", messages=({"role": "user", "content": "hi"},), max_tokens=400)
    call = draft_call(run, token=1)
    try:
        budget_reserve(call=call, amount=max_cost(price_for("demo-small"), request))
    except BudgetExceeded as exc:
        assert exc.budget == "Tight"
    else:
        raise AssertionError("the call should not fit the tight budget")
    assert BudgetUsage.objects.get(budget=roomy).reserved == 0
    assert not BudgetReservation.objects.exists()


def test_a_cap_raise_whose_resume_is_refused_is_undone(priced, advance, make_budget, admin_user, make_user):
    # Another admin ended the run a moment before: the raise must not stay behind, unasked for.
    from audit.models import LedgerEntry
    from orchestrator.cost_admin import budget_item_resume
    from review.services import AlreadyDecided

    budget = make_budget(cap=(cap := _room_for_three_calls(advance)))
    run = _start()
    advance(run)
    item = ReviewItem.objects.get(run=run, status="pending")
    review_decide(item=item, actor=make_user("ada", "admin"), decision=DecisionInput("reject", reason="too dear"))
    entries = LedgerEntry.objects.filter(kind="budget_changed").count()

    try:
        budget_item_resume(item=ReviewItem.objects.get(pk=item.pk), cap=Decimal("5.00"), actor=admin_user)
    except AlreadyDecided as exc:
        assert "already decided (reject) by ada" in str(exc)
    else:
        raise AssertionError("a decided item was resumed")
    budget.refresh_from_db()
    assert budget.cap == Decimal(cap) and LedgerEntry.objects.filter(kind="budget_changed").count() == entries


def test_a_stop_whose_budget_was_removed_resumes_without_a_cap(priced, advance, make_budget, admin_user,
                                                               client_for):
    budget, run, item = _stopped(advance, make_budget)
    Budget.objects.filter(pk=budget.pk).delete()
    client = client_for(admin_user)
    page = client.get(f"/costs/budgets/stops/{item.pk}/").content.decode()
    assert "This budget no longer exists: resume without a cap." in page

    refused = client.post(f"/costs/budgets/stops/{item.pk}/resume/", {"cap": "9"})
    assert refused.status_code == 400 and "leave the cap empty to resume" in refused.content.decode()
    resumed = client.post(f"/costs/budgets/stops/{item.pk}/resume/", {"cap": ""})
    assert resumed.status_code == 302
    assert ReviewItem.objects.get(pk=item.pk).status != "pending"
    assert advance(run) == "completed"


def test_resuming_without_a_cap_while_the_budget_still_blocks_is_refused(priced, advance, make_budget, admin_user,
                                                                        client_for):
    _budget, run, item = _stopped(advance, make_budget)

    refused = client_for(admin_user).post(f"/costs/budgets/stops/{item.pk}/resume/", {"cap": ""})

    assert refused.status_code == 400 and "this call needs: give a new cap, or end the run" in \
        refused.content.decode()
    assert ReviewItem.objects.get(pk=item.pk).status == "pending"


def test_a_renamed_budget_is_still_the_one_its_stop_raises(priced, advance, make_budget, admin_user, client_for):
    budget, run, item = _stopped(advance, make_budget)
    Budget.objects.filter(pk=budget.pk).update(name="Renamed since")

    assert client_for(admin_user).post(f"/costs/budgets/stops/{item.pk}/resume/", {"cap": "9"}).status_code == 302
    budget.refresh_from_db()
    assert budget.cap == Decimal("9") and advance(run) == "completed"


def test_a_cap_raised_after_the_stop_is_shown_beside_the_stop_s_figures(priced, advance, make_budget, admin_user,
                                                                        client_for):
    budget, run, item = _stopped(advance, make_budget)
    client = client_for(admin_user)
    assert 'data-testid="cap-now"' not in client.get(f"/costs/budgets/stops/{item.pk}/").content.decode()

    Budget.objects.filter(pk=budget.pk).update(cap=Decimal("9"))  # raised on the budgets page meanwhile

    page = client.get(f"/costs/budgets/stops/{item.pk}/").content.decode()
    assert "Cap at the stop" in page and "As it stood when the run stopped" in page
    assert "Cap now $9.00" in page and "The stopped call fits now: resume with the cap left empty." in page
    listed = client.get("/costs/budgets/").content.decode()
    assert "Cap at the stop" in listed and "now $9.00" in listed
