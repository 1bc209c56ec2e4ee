"""A review item whose run is a fork says so, in the inbox row and on the item page: of which run, at which
step, in which replay mode, and whether its side effects are dry runs; an ordinary run's item says nothing of
the kind. Forks stopping at a gate landed in reviewers' inbox looking like any other item, so a reviewer
could not tell an engineer's experiment from real work. The parent's thread id is shown as text."""

from __future__ import annotations

from orchestrator.executor import run_advance
from orchestrator.forks import run_fork
from orchestrator.models import Checkpoint, Run
from review.models import ReviewItem
from tests.review.fixtures import payment_item, payment_workflow  # noqa: F401  (fixtures)

# Thread ids are checked when a run starts; one stored before that, or by other means, is still only text.
HOSTILE_PARENT = 'acme-42<img src=x onerror="window.pwned = 1">'


def _forked_item(item: ReviewItem, engineer) -> ReviewItem:
    """The pending item of a fork of `item`'s run, taken just before its gate (recorded, dry-run effects)."""
    parent = item.run
    step = Checkpoint.objects.filter(run=parent, next_node=item.node).order_by("step").first().step
    fork = run_fork(run=parent, at_step=step, edits={"amount": 900}, actor=engineer)
    assert run_advance(fork.pk, worker="test") == "suspended"
    Run.objects.filter(pk=parent.pk).update(thread_id=HOSTILE_PARENT)
    return ReviewItem.objects.select_related("run").get(run=fork)


def test_a_fork_s_item_says_it_is_a_fork_and_an_ordinary_one_does_not(
        page, login_as, screenshot, reviewer_user, engineer_user, payment_item):  # noqa: F811
    ordinary = payment_item(amount=1200)
    forked = _forked_item(payment_item(amount=700), engineer_user)
    step = forked.run.forked_from_step
    said = f"Fork of {HOSTILE_PARENT} at step {step} · recorded replay · side effects dry-run"
    login_as(page, reviewer_user)

    page.goto("/inbox/")
    fork_row = page.locator(f"tr[data-item='{forked.pk}']")
    assert fork_row.get_by_test_id("fork-note").inner_text() == said
    assert fork_row.locator(".pill", has_text="Fork").get_attribute("title") == said
    assert page.locator(f"tr[data-item='{ordinary.pk}'] [data-testid=fork-note]").count() == 0
    assert page.locator(f"tr[data-item='{ordinary.pk}'] .pill", has_text="Fork").count() == 0
    screenshot(page, "inbox-with-a-fork")

    page.goto(f"/inbox/{forked.pk}/")
    note = page.get_by_test_id("fork-note")
    assert note.get_by_test_id("fork-note-text").inner_text() == said
    assert "an experiment: approving performs nothing real." in note.inner_text()
    assert page.locator("img[src=x]").count() == 0 and page.evaluate("window.pwned === undefined")
    screenshot(page, "inbox-item-of-a-fork")

    page.goto(f"/inbox/{ordinary.pk}/")
    page.get_by_role("heading", name="What the agent proposes").wait_for()
    assert page.get_by_test_id("fork-note").count() == 0
