"""A review item whose run is a fork says so, in the inbox row and on the item page: of which run, at which
step, in which replay mode, and whether its side effects are dry runs; an ordinary run's item says nothing of
the kind. Forks stopping at a gate landed in reviewers' inbox looking like any other item, so a reviewer
could not tell an engineer's experiment from real work. The parent's thread id is shown as text."""

from __future__ import annotations

from orchestrator.models import Run
from review.models import ReviewItem
from tests.review.fixtures import fork_item_of, payment_item, payment_workflow  # noqa: F401  (fixtures)

# Thread ids are checked when a run starts; one stored before that, or by other means, is still only text.
HOSTILE_PARENT = 'acme-42<img src=x onerror="window.pwned = 1">'


def _forked_item(item: ReviewItem, engineer) -> ReviewItem:
    """The pending item of a fork of `item`'s run (recorded, dry-run effects), its parent renamed hostile."""
    forked = fork_item_of(item, engineer, edits={"amount": 900})
    Run.objects.filter(pk=item.run_id).update(thread_id=HOSTILE_PARENT)
    return ReviewItem.objects.select_related("run").get(pk=forked.pk)


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
