"""/api/items and the new-item e-mail and webhook say an item is a fork, with the facts its page shows (the
parent's thread id, the step it was forked at, the replay mode, whether its side effects are real) and the
same sentence: a review bot or a chat channel knows that approving a dry-run fork performs nothing real.
An ordinary run's item has `"fork": null`. The item's API answer also carries what the engineer edited
when forking, as the page shows it (tests/review/test_a_fork_s_item_shows_what_its_engineer_edited.py).
Before this, a fork's item read exactly like real work everywhere but on its page."""

from __future__ import annotations

import json

from django.core import mail

from review.models import ReviewItem
from tests.review.fixtures import fork_item_of

DRY_RUN = "recorded replay · side effects dry-run — an experiment: approving performs nothing real."
REAL = "live replay · side effects performed for real — an admin let this fork act: approving performs the action " \
       "for real."


def _facts(item: ReviewItem, sentence: str, *, mode: str = "recorded", real: bool = False) -> dict:
    parent, step = item.run.parent.thread_id, item.run.forked_from_step
    return {"parent": parent, "forked_from_step": step, "replay_mode": mode, "allow_effects": real,
            "note": f"Fork of {parent} at step {step} · {sentence}"}


def _post(client, url, body=None):
    return client.post(url, json.dumps(body or {}), content_type="application/json")


def test_the_api_says_which_items_are_forks_and_what_was_edited(payment_item, engineer_user, reviewer_user,
                                                                client_for):
    ordinary = payment_item(amount=700)
    fork = fork_item_of(ordinary, engineer_user, edits={"amount": 900})
    client = client_for(reviewer_user)

    listed = {row["id"]: row for row in client.get("/api/items").json()["items"]}
    assert listed[fork.pk]["fork"] == _facts(fork, DRY_RUN)
    assert listed[ordinary.pk]["fork"] is None

    shown = client.get(f"/api/items/{fork.pk}").json()
    assert shown["fork"] == _facts(fork, DRY_RUN)
    assert shown["fork_edits"] == {"by": "engineer", "erased": False, "changes": [
        {"field": "amount", "before": 700, "after": 900, "kind": "changed"}]}
    assert shown["request"]["args"]["amount"] == 900
    plain = client.get(f"/api/items/{ordinary.pk}").json()
    assert (plain["fork"], plain["fork_edits"]) == (None, None)

    # What a bot gets back from acting on the item says so too.
    assert _post(client, f"/api/items/{fork.pk}/claim").json()["fork"] == _facts(fork, DRY_RUN)
    decided = _post(client, f"/api/items/{fork.pk}/decision", {"decision": "approve"}).json()
    assert (decided["status"], decided["fork"]) == ("decided", _facts(fork, DRY_RUN))


def test_a_fork_without_edits_has_an_empty_list_of_them(payment_item, engineer_user, reviewer_user, client_for):
    fork = fork_item_of(payment_item(), engineer_user)

    shown = client_for(reviewer_user).get(f"/api/items/{fork.pk}").json()
    assert shown["fork"] == _facts(fork, DRY_RUN)
    assert shown["fork_edits"] == {"by": "engineer", "erased": False, "changes": []}


def test_the_new_item_email_and_webhook_say_it_is_a_fork(payment_item, engineer_user, admin_user, reviewer_user,
                                                        settings, webhook_receiver):
    url, received = webhook_receiver
    settings.GATEHOUSE_REVIEW_WEBHOOK_URL = url
    ordinary = payment_item(amount=700)
    mail.outbox.clear()
    received.clear()

    dry = fork_item_of(ordinary, engineer_user, edits={"amount": 900})
    real = fork_item_of(ordinary, admin_user, mode="live", allow_effects=True)

    posted = {body["item"]: body for body in received}
    assert sorted(posted) == sorted([dry.pk, real.pk])
    assert posted[dry.pk]["fork"] == _facts(dry, DRY_RUN)
    assert posted[real.pk]["fork"] == _facts(real, REAL, mode="live", real=True)

    mails = {int(message.extra_headers["X-Gatehouse-Item"]): message for message in mail.outbox}
    assert mails[dry.pk].subject == "[Gatehouse] Review needed: pay_invoice (payment, critical risk, fork: dry run)"
    assert mails[real.pk].subject == \
        "[Gatehouse] Review needed: pay_invoice (payment, critical risk, fork: acts for real)"
    parent = ordinary.run.thread_id
    assert (f"Run:      {dry.run.thread_id}\n\nFork of {parent} at step {dry.run.forked_from_step} · recorded replay "
            "· side effects dry-run\n— an experiment: approving performs nothing real.\n\n") in mails[dry.pk].body
    assert "— an admin let this fork act: approving performs the action for real." in mails[real.pk].body


def test_an_ordinary_item_s_email_and_webhook_say_nothing_of_forks(payment_item, reviewer_user, settings,
                                                                   webhook_receiver):
    url, received = webhook_receiver
    settings.GATEHOUSE_REVIEW_WEBHOOK_URL = url
    mail.outbox.clear()

    item = payment_item()

    assert [body["fork"] for body in received if body["item"] == item.pk] == [None]
    (message,) = mail.outbox
    assert "fork" not in message.subject.lower() and "Fork of" not in message.body
