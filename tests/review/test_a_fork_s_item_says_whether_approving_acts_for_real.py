"""The notice on a fork's item tells its reviewer whether approving acts: a fork an admin let perform its
side effects says they are performed for real (a dry-run fork says approving performs nothing real:
tests/browser/test_a_fork_s_item_says_it_is_a_fork.py), and a live fork says live replay."""

from __future__ import annotations

import html as html_lib

from tests.review.fixtures import fork_item_of


def test_a_fork_with_real_effects_says_approving_acts(payment_item, admin_user, reviewer_user, client_for):
    item = fork_item_of(payment_item(), admin_user, mode="live", allow_effects=True)
    parent, step = item.run.parent, item.run.forked_from_step
    client = client_for(reviewer_user)

    said = f"Fork of {parent.thread_id} at step {step} · live replay · side effects performed for real"
    page = html_lib.unescape(client.get(f"/inbox/{item.pk}/").content.decode())
    assert f'<span data-testid="fork-note-text">{said}</span>' in page
    assert "an admin let this fork act: approving performs the action for real." in page

    inbox = html_lib.unescape(client.get("/inbox/").content.decode())
    assert f'<div class="fork-note" data-testid="fork-note">{said}</div>' in inbox
