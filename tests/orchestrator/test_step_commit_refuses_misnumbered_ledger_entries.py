"""The step commit numbers a transition's ledger entries itself (ledger_len_before + 1, + 2, ...),
but each entry's hash was taken over the number its writer gave it. If the two disagreed, the entry
stored would fail `audit verify` forever, so the statement refuses to be built at all; likewise for
an entry that does not link to the one before it."""

from __future__ import annotations

import pytest

from audit.ledger import ChainCursor
from orchestrator.commit import RunChange, Transition, transition_statement
from orchestrator.models import GENESIS


def _entries(length: int, count: int) -> list[dict]:
    cursor = ChainCursor(chain="sequence-test", length=length, head=GENESIS if length == 0 else "cd" * 32)
    return [cursor.append(kind="node_completed", step=length + i + 1, actor=None, payload={"node": "a"})
            for i in range(count)]


def _transition(ledger_len_before: int, ledger: list[dict]) -> Transition:
    return Transition(run_id=1, lease_token=3, ledger_len_before=ledger_len_before,
                      run=RunChange(step=4, status="running", next_node="b", visit_step=4), ledger=ledger)


def test_entries_that_follow_the_run_ledger_are_accepted():
    entries = _entries(5, 2)
    _sql, params = transition_statement(_transition(5, entries))
    assert params["ledger_len"] == 7
    assert params["ledger_head"] == entries[-1]["hash"]
    assert params["l0_prev"] == entries[0]["prev"]


def test_entries_written_for_another_ledger_length_are_refused():
    # The writer's cursor thinks the run's ledger has 6 entries; the statement is told 5.
    with pytest.raises(ValueError, match="ledger entry numbered 7 where 6 is next"):
        transition_statement(_transition(5, _entries(6, 1)))
    # ... or 4: the first entry would take number 5, already someone else's.
    with pytest.raises(ValueError, match="ledger entry numbered 5 where 6 is next"):
        transition_statement(_transition(5, _entries(4, 1)))


def test_a_gap_or_reordering_within_one_transition_is_refused():
    first, second, third = _entries(5, 3)
    with pytest.raises(ValueError, match="ledger entry numbered 8 where 7 is next"):
        transition_statement(_transition(5, [first, third]))
    with pytest.raises(ValueError, match="ledger entry numbered 7 where 6 is next"):
        transition_statement(_transition(5, [second, first]))


def test_an_entry_that_does_not_link_to_the_one_before_is_refused():
    first, _second = _entries(5, 2)
    (stranger,) = _entries(6, 1)  # numbered right, but chained to another head
    with pytest.raises(ValueError, match="ledger entry 7 does not link to the entry before it"):
        transition_statement(_transition(5, [first, stranger]))


def test_a_transition_without_a_ledger_entry_is_refused():
    with pytest.raises(ValueError, match="at least one ledger entry"):
        transition_statement(_transition(5, []))
