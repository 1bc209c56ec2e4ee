"""A reviewer opening a fork's item sees what the engineer edited when forking, in the item page's diff
table beside "What changed": a payment fork with its amount edited 700 → 900 (while the memo the agent wrote
still says 700) shows amount 700 → 900 and who forked which run at which step; an edited value is shown as
text. A fork without edits says it has none; an ordinary run's item has no such panel."""

from __future__ import annotations

from tests.review.fixtures import fork_item_of, payment_item, payment_workflow  # noqa: F401  (fixtures)

HOSTILE = 'Paid <img src=x onerror="window.pwned = 1"> already'



def test_a_reviewer_sees_the_fork_s_edits_beside_what_changed(page, login_as, screenshot, reviewer_user,
                                                              engineer_user, payment_item):  # noqa: F811
    ordinary = payment_item(amount=700)
    edited = fork_item_of(ordinary, engineer_user, edits={"amount": 900, "urgent": True, "memo": HOSTILE})
    unedited = fork_item_of(ordinary, engineer_user)
    parent, step = ordinary.run.thread_id, edited.run.forked_from_step
    login_as(page, reviewer_user)

    page.goto(f"/inbox/{edited.pk}/")
    panel = page.get_by_test_id("fork-edits")
    assert panel.get_by_role("heading").inner_text() == "Edited when forking"
    assert panel.get_by_test_id("fork-edits-by").inner_text() == (
        f"Changed by Emery Engineer when forking {parent} at step {step}: this fork ran on these values, "
        "not the original run's.")
    table = panel.get_by_test_id("fork-edits-table")
    assert table.locator("thead th").all_text_contents() == ["Field", "Before the fork", "In this fork"]
    rows = [[cell.strip() for cell in row.locator("th, td").all_inner_texts()]
            for row in table.locator("tbody tr").all()]
    assert rows == [["amount", "700", "900"],
                    ["memo", "Invoice payment of 700 to ap@supplier.example.", HOSTILE],
                    ["urgent", "false", "true"]]
    assert page.locator("img[src=x]").count() == 0 and page.evaluate("window.pwned === undefined")
    # Beside the usual diff, which says no step of the fork changed anything before its gate.
    changes = page.locator("section.card", has=page.get_by_role("heading", name="What changed"))
    assert "No step of this fork changed the state before this gate" in changes.inner_text()
    assert panel.bounding_box()["y"] < changes.bounding_box()["y"]
    panel.scroll_into_view_if_needed()
    screenshot(page, "fork-item-edited-when-forking")

    page.goto(f"/inbox/{unedited.pk}/")
    panel = page.get_by_test_id("fork-edits")
    assert panel.get_by_test_id("fork-edits-by").inner_text() == (
        f"No edits: Emery Engineer forked {parent} at step {step} without changing its state.")
    assert panel.locator("table").count() == 0
    screenshot(page, "fork-item-without-edits")

    page.goto(f"/inbox/{ordinary.pk}/")
    page.get_by_role("heading", name="What changed").wait_for()
    assert page.get_by_test_id("fork-edits").count() == 0
