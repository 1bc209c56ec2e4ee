"""The item page of a fork shows what the engineer changed when forking: each edited field, its value in the
run it was forked from and in the fork, and who forked where ("Changed by Emery Engineer when forking X at
step N"), beside the usual "What changed". A fork made without edits says so; an ordinary run's item has no
such panel. Before this, a payment fork whose amount was edited 700 → 900 (its memo still saying 700) read
"The state did not change before this gate". Values and thread ids are untrusted text: escaped.

The browser's view of it: tests/browser/test_a_fork_s_item_shows_what_its_engineer_edited.py."""

from __future__ import annotations

import html as html_lib
import re

from orchestrator.models import Run
from orchestrator.services import run_cancel
from review.selectors import item_view
from tests.review.fixtures import fork_item_of

HOSTILE = '<img src=x onerror="window.pwned = 1">'



def _section(page: str, testid: str) -> str:
    match = re.search(rf'<section [^>]*data-testid="{testid}".*?</section>', page, re.S)
    assert match, f"no {testid} section on the page"
    return match.group(0)


def _text(fragment: str) -> str:
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def test_the_amount_an_engineer_edited_is_shown_with_who_forked_where(payment_item, engineer_user, reviewer_user,
                                                                       client_for):
    parent = payment_item(amount=700)
    fork = fork_item_of(parent, engineer_user, edits={"amount": 900})
    step = fork.run.forked_from_step

    page = client_for(reviewer_user).get(f"/inbox/{fork.pk}/").content.decode()
    edits = _section(page, "fork-edits")
    assert "Edited when forking" in edits
    assert (f"Changed by Emery Engineer when forking {parent.run.thread_id} at step {step}: this fork ran on "
            "these values, not the original run's.") in _text(edits)
    rows = re.findall(r"<tr class=\"change-(\w+)\">(.*?)</tr>", edits, re.S)
    assert [(kind, _text(cells)) for kind, cells in rows] == [("changed", "amount 700 900")]
    # The memo the agent wrote before the fork still says 700: the reviewer sees both.
    assert "Invoice payment of 700 to ap@supplier.example." in page
    assert "No step of this fork changed the state before this gate: it holds the state it was forked from" in page
    assert "The state did not change before this gate." not in page


def test_edited_values_and_the_parent_s_thread_id_are_escaped(payment_item, engineer_user, reviewer_user,
                                                              client_for):
    parent = payment_item(amount=700)
    fork = fork_item_of(parent, engineer_user, edits={"memo": HOSTILE})
    hostile_parent = "acme-7<script>window.pwned = 1</script>"
    Run.objects.filter(pk=parent.run_id).update(thread_id=hostile_parent)

    page = client_for(reviewer_user).get(f"/inbox/{fork.pk}/").content.decode()
    edits = _section(page, "fork-edits")
    assert "<img" not in edits and "<script" not in edits
    assert html_lib.escape(HOSTILE) in edits and html_lib.escape(hostile_parent) in edits
    assert "memo Invoice payment of 700 to ap@supplier.example. " + HOSTILE in _text(edits)


def test_a_fork_without_edits_says_so_and_an_ordinary_item_has_no_such_panel(payment_item, engineer_user,
                                                                             reviewer_user, client_for):
    parent = payment_item(amount=700)
    fork = fork_item_of(parent, engineer_user)
    client = client_for(reviewer_user)

    page = client.get(f"/inbox/{fork.pk}/").content.decode()
    edits = _section(page, "fork-edits")
    assert _text(edits) == (f"Edited when forking No edits: Emery Engineer forked {parent.run.thread_id} at step "
                            f"{fork.run.forked_from_step} without changing its state.")
    assert "<table" not in edits
    assert "No step of this fork changed the state before this gate." in page

    ordinary = client.get(f"/inbox/{parent.pk}/").content.decode()
    assert 'data-testid="fork-edits"' not in ordinary and "Edited when forking" not in ordinary
    assert item_view(item=parent, user=reviewer_user).fork_edits is None


def test_an_erased_fork_says_its_edits_were_erased(payment_item, engineer_user, reviewer_user, admin_user,
                                                   client_for):
    from audit.erasure import audit_erase

    parent = payment_item(amount=700)
    fork = fork_item_of(parent, engineer_user, edits={"amount": 900})
    for item in (fork, parent):  # erasure takes finished runs only
        run_cancel(run=item.run, actor=admin_user)
    audit_erase(actor=admin_user, run=parent.run.thread_id)

    page = client_for(reviewer_user).get(f"/inbox/{fork.pk}/").content.decode()
    edits = _text(_section(page, "fork-edits"))
    assert "edited when forking" in edits and "were erased with the run's personal data." in edits
    assert "<table" not in _section(page, "fork-edits")
