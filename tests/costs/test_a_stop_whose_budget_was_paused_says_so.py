"""A stop whose budget was paused since says that is why its call fits now: the page said "Cap now $0.00
… The stopped call fits now" beside "at least $0.0005 lets this call through"."""

from __future__ import annotations

from orchestrator.models import Budget
from tests.costs.test_budget_exceeded_suspends_the_run import _stopped


def test_a_paused_budget_is_named_as_the_reason_the_call_fits(priced, advance, make_budget, admin_user, client_for):
    budget, run, item = _stopped(advance, make_budget)
    Budget.objects.filter(pk=budget.pk).update(active=False)
    client = client_for(admin_user)

    page = client.get(f"/costs/budgets/stops/{item.pk}/").content.decode()
    assert ("“Probe cap” was paused after the stop, so it stops no call: resume with the cap left empty."
            in page)
    assert "The budget is paused: nothing to raise." in page
    assert "lets this call through" not in page and 'data-testid="cap-now"' not in page
    assert client.post(f"/costs/budgets/stops/{item.pk}/resume/", {"cap": ""}).status_code == 302
    assert advance(run) == "completed"
