"""An edit keeps the characters a reviewer sends exactly, hidden ones included: nothing is stripped on
the way to the state (the edit box cannot mark them, so the page warns of them instead; deleting them is
the reviewer's choice). The decision log then shows them marked, as the item page does."""

from __future__ import annotations

from orchestrator.executor import run_advance
from orchestrator.history import state_at
from orchestrator.models import Run
from review.models import ReviewItem

PAYEE = "ap@supp\u200blier.example"
MEMO = "IBAN \u202eDE89 3704 0044 0532 0130 00\u2066 (\u2060second instalment)\ufeff"


def test_an_edit_reaches_the_state_with_every_character_as_sent(payment_item, reviewer_user, client_for):
    item = payment_item(memo="Invoice 4711.")

    response = client_for(reviewer_user).post(f"/inbox/{item.pk}/decide/", {
        "decision": "edit", "arg-payee": PAYEE, "arg-memo": MEMO, "arg-amount": "1200", "arg-urgent": "0"})

    assert response.status_code == 302, response.content.decode()[:2000]
    item = ReviewItem.objects.get(pk=item.pk)
    assert (item.decision, item.edits) == ("edit", {"payee": PAYEE, "memo": MEMO})
    assert run_advance(item.run_id, worker="test") == "completed"
    run = Run.objects.get(pk=item.run_id)
    state = state_at(run.pk, run.step)
    assert (state["payee"], state["memo"]) == (PAYEE, MEMO)


def test_the_decision_log_shows_the_edited_values_marked(payment_item, reviewer_user, compliance_user,
                                                          client_for):
    item = payment_item()
    client_for(reviewer_user).post(f"/inbox/{item.pk}/decide/", {"decision": "edit", "arg-payee": PAYEE})

    html = client_for(compliance_user).get("/audit/decisions/").content.decode()

    assert 'ap@supp<span class="hidden-char" title="U+200B ZERO WIDTH SPACE">⟨U+200B⟩</span>lier.example' in html
    assert "\u200b" not in html
