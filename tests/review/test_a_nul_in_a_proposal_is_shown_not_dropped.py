"""A NUL a model wrote into a proposal is shown, not dropped: the inbox's one-line summary (a text
column, which cannot hold a NUL) used to lose it, so "ap@supp<NUL>lier.example" read as the supplier's
address; it now shows U+2400 (␀) there, and the item page marks the NUL itself and warns of it."""

from __future__ import annotations

import re

import pytest

from orchestrator.executor import run_advance
from orchestrator.services import run_start
from review.models import ReviewItem
from tests.fakes.fixtures import fake_llm  # noqa: F401  (fixture)

NOTE = "Pay ap@supp\x00lier.example today."
MARKER = '<span class="hidden-char" title="U+0000 NULL">⟨U+0000⟩</span>'


@pytest.fixture
def drafted_item(db, register_workflows, fake_llm):  # noqa: F811
    register_workflows("tests.review.graphs_drafted")
    fake_llm.reply_text = NOTE
    run = run_start(workflow="drafted_payment", input={})
    assert run_advance(run.pk, worker="test") == "suspended"
    return ReviewItem.objects.get(run=run)


def test_the_summary_holds_a_symbol_for_the_nul_and_the_inbox_shows_it(drafted_item, reviewer_user, client_for):
    assert drafted_item.summary == "Pay ap@supp\u2400lier.example today."

    html = client_for(reviewer_user).get("/inbox/").content.decode()

    assert "Pay ap@supp\u2400lier.example today." in html


def test_the_item_page_marks_the_nul_where_it_stands_and_warns(drafted_item, reviewer_user, client_for):
    html = client_for(reviewer_user).get(f"/inbox/{drafted_item.pk}/").content.decode()

    note = re.search(r'<dd data-arg="note">(.*?)</dd>', html, re.S).group(1)
    assert f"ap@supp{MARKER}lier.example" in note
    description = re.search(r'data-testid="description">(.*?)</div>', html, re.S).group(1)
    assert f"ap@supp{MARKER}lier.example" in description
    warning = re.search(r'data-testid="hidden-chars-warning">(.*?)</p>', html, re.S).group(1)
    assert "This proposal contains 2 hidden characters (U+0000 NULL ×2), marked ⟨…⟩ in the proposal: " \
           "check them before approving." in warning
    proposal = re.search(r'<section class="card proposal-card".*?</section>', html, re.S).group(0)
    assert "\x00" not in proposal and "\x00" not in description
