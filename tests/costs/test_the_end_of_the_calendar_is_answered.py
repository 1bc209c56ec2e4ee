"""The cost pages answer for the last day and month the calendar has instead of failing with a 500
(there is no day after 9999-12-31 to end a range at)."""

from __future__ import annotations

from django.urls import reverse


def test_the_dashboard_answers_for_the_last_day(client_for, admin_user):
    response = client_for(admin_user).get(reverse("audit:costs"), {"since": "9999-12-01", "until": "9999-12-31"})
    assert response.status_code == 200
    assert 'data-testid="total-spend">$0.00<' in response.content.decode()


def test_the_chargeback_answers_for_the_last_month(client_for, admin_user):
    response = client_for(admin_user).get(reverse("audit:chargeback"), {"month": "9999-12", "label_key": "team"})
    assert response.status_code == 200
    assert response.content.decode().splitlines() == [
        "month,label:team,runs,llm_calls,input_tokens,cached_input_tokens,output_tokens,cost_usd"]
