"""Each way of tampering with a run's chain is named for what it is, and points at the right entry."""

from __future__ import annotations

import copy

import pytest

from audit.chain import (
    DELETED,
    GENESIS,
    INSERTED,
    MODIFIED,
    REORDERED,
    TRUNCATED,
    entry_hash,
    verify_chain,
)


def build_chain(length: int = 10, run: str = "T-1", first_gseq: int = 100) -> list[dict]:
    entries, prev = [], GENESIS
    for seq in range(1, length + 1):
        entry = {
            "run": run,
            "seq_run": seq,
            "kind": "node.completed" if seq > 1 else "run.started",
            "step": seq - 1,
            "actor": None if seq % 3 else "alice@example.com",
            "at": f"2025-06-01T12:00:{seq:02d}.000000Z",
            "payload": {"output": f"sha256:{seq:064x}", "tokens": seq * 10},
        }
        digest = entry_hash(entry, prev)
        entries.append({**entry, "prev": prev, "hash": digest, "gseq": first_gseq + 2 * seq})
        prev = digest
    return entries


def rehash(entry: dict) -> None:
    entry["hash"] = entry_hash(entry, entry["prev"])


def test_an_untouched_chain_verifies() -> None:
    result = verify_chain(build_chain())
    assert result.ok, result.detail
    assert result.problem is None


def test_the_input_order_does_not_matter() -> None:
    entries = build_chain()
    result = verify_chain(list(reversed(entries)))
    assert result.ok, result.detail


def test_it_names_a_modified_entry() -> None:
    entries = build_chain()
    entries[4]["payload"]["tokens"] = 9999
    result = verify_chain(entries)
    assert (result.problem, result.entry_seq, result.position) == (MODIFIED, 5, 4)
    assert result.detail == "entry 5 of run T-1 was modified: its hash no longer matches its contents"


def test_it_names_an_entry_that_was_modified_and_rehashed() -> None:
    entries = build_chain()
    entries[4]["actor"] = "mallory"
    rehash(entries[4])
    result = verify_chain(entries)
    assert (result.problem, result.entry_seq) == (MODIFIED, 5)
    assert "re-hashed" in result.detail


def test_it_names_an_entry_whose_prev_link_was_rewritten() -> None:
    entries = build_chain()
    entries[4]["prev"] = entries[2]["hash"]
    rehash(entries[4])
    result = verify_chain(entries)
    assert (result.problem, result.entry_seq) == (MODIFIED, 5)


def test_it_names_a_deleted_middle_entry() -> None:
    entries = build_chain()
    del entries[4]
    result = verify_chain(entries)
    assert (result.problem, result.entry_seq) == (DELETED, 5)
    assert result.detail == "entry 5 of run T-1 was deleted: the chain goes from entry 4 to entry 6"


def test_it_names_several_deleted_entries() -> None:
    entries = build_chain()
    del entries[3:6]
    result = verify_chain(entries)
    assert (result.problem, result.entry_seq) == (DELETED, 4)
    assert "entries 4-6 of run T-1 were deleted" in result.detail


def test_it_names_a_deleted_first_entry() -> None:
    entries = build_chain()
    del entries[0]
    result = verify_chain(entries)
    assert (result.problem, result.entry_seq) == (DELETED, 1)
    assert result.detail == "entry 1 of run T-1 was deleted: the chain starts at entry 2"


def test_a_deletion_hidden_by_renumbering_is_still_a_deletion() -> None:
    entries = build_chain()
    del entries[4]
    for entry in entries[4:]:
        entry["seq_run"] -= 1  # close the gap, as a unique (run, seq_run) constraint would force
    result = verify_chain(entries)
    assert (result.problem, result.entry_seq) == (DELETED, 5)


def test_deleting_the_newest_entry_is_caught_by_the_sealed_length() -> None:
    entries = build_chain()
    head = entries[-1]["hash"]
    del entries[-1]
    result = verify_chain(entries, expected_len=10, expected_head=head)
    assert (result.problem, result.entry_seq) == (TRUNCATED, 10)
    assert "ends at entry 9, but its seal recorded 10 entries" in result.detail


def test_deleting_the_newest_entry_is_caught_by_the_sealed_head_alone() -> None:
    entries = build_chain()
    head = entries[-1]["hash"]
    del entries[-1]
    result = verify_chain(entries, expected_head=head)
    assert (result.problem, result.entry_seq) == (TRUNCATED, 10)


def test_deleting_the_newest_entry_leaves_no_trace_without_a_seal() -> None:
    # The limit that seals exist for: a chain's tail can be cut cleanly.
    entries = build_chain()
    del entries[-1]
    assert verify_chain(entries).ok


def test_entries_appended_after_the_seal_are_fine() -> None:
    entries = build_chain(12)
    assert verify_chain(entries, expected_len=10, expected_head=entries[9]["hash"]).ok


def test_a_chain_rewritten_wholesale_fails_against_its_sealed_head() -> None:
    entries = build_chain()
    head = entries[-1]["hash"]
    entries[2]["kind"] = "forged"
    for before, entry in zip(entries[1:], entries[2:], strict=False):
        entry["prev"] = before["hash"]
        rehash(entry)
    assert verify_chain(entries).ok  # self-consistent: only the seal can tell
    result = verify_chain(entries, expected_len=10, expected_head=head)
    assert (result.problem, result.entry_seq) == (MODIFIED, 10)
    assert "rewritten" in result.detail


def test_it_names_two_swapped_entries() -> None:
    # The rows' contents exchanged, each keeping its row's place in the ledger (gseq).
    entries = build_chain()
    for key in ("run", "seq_run", "kind", "step", "actor", "at", "payload", "prev", "hash"):
        entries[3][key], entries[4][key] = entries[4][key], entries[3][key]
    result = verify_chain(entries)
    assert (result.problem, result.entry_seq) == (REORDERED, 4)
    assert "entries 4 and 5 of run T-1 are out of order" in result.detail


def test_it_names_two_entries_whose_numbers_were_swapped() -> None:
    entries = build_chain()
    entries[3]["seq_run"], entries[4]["seq_run"] = 5, 4
    result = verify_chain(entries)
    assert (result.problem, result.entry_seq, result.position) == (REORDERED, 4, 3)
    assert "stored as entry 5, and position 4 holds entry 5" in result.detail


def test_it_names_entries_swapped_far_apart() -> None:
    entries = build_chain()
    entries[2]["seq_run"], entries[7]["seq_run"] = 8, 3
    result = verify_chain(entries)
    assert (result.problem, result.entry_seq) == (REORDERED, 3)


def test_a_changed_seq_run_alone_is_a_modification() -> None:
    entries = build_chain()
    entries[4]["seq_run"] = 50
    result = verify_chain(entries)
    assert (result.problem, result.entry_seq) == (MODIFIED, 5)
    assert "seq_run was changed to 50" in result.detail


def _forged_after(entries: list[dict], index: int, seq: int) -> dict:
    forged = {
        "run": "T-1",
        "seq_run": seq,
        "kind": "review.approved",
        "step": 4,
        "actor": "mallory",
        "at": "2025-06-01T12:00:05.500000Z",
        "payload": {"decision": "approve"},
    }
    prev = entries[index]["hash"]
    return {**forged, "prev": prev, "hash": entry_hash(forged, prev), "gseq": 999}


def test_it_names_a_forged_entry_inserted_with_renumbering() -> None:
    entries = build_chain()
    forged = _forged_after(entries, 4, 6)
    for entry in entries[5:]:
        entry["seq_run"] += 1
    entries.insert(5, forged)
    result = verify_chain(entries)
    assert (result.problem, result.entry_seq, result.position) == (INSERTED, 6, 5)
    assert forged["hash"][:12] in result.detail


def test_it_names_a_forged_entry_that_duplicates_a_number() -> None:
    entries = build_chain()
    forged = _forged_after(entries, 4, 6)
    entries.append(forged)
    result = verify_chain(entries)
    assert (result.problem, result.entry_seq, result.position) == (INSERTED, 6, 10)


def test_it_names_a_forged_duplicate_even_when_it_comes_first() -> None:
    entries = build_chain()
    forged = {**_forged_after(entries, 4, 6), "gseq": 1}
    entries.insert(0, forged)
    result = verify_chain(entries)
    assert (result.problem, result.entry_seq, result.position) == (INSERTED, 6, 0)


def test_it_names_a_duplicate_with_a_garbage_hash() -> None:
    entries = build_chain()
    junk = {**copy.deepcopy(entries[5]), "hash": "f" * 64, "kind": "junk"}
    entries.insert(3, junk)
    result = verify_chain(entries)
    assert (result.problem, result.entry_seq, result.position) == (INSERTED, 6, 3)


def test_it_names_an_entry_from_another_run() -> None:
    entries = build_chain()
    entries.append(build_chain(3, run="T-2")[2])
    result = verify_chain(entries)
    assert (result.problem, result.position) == (INSERTED, 10)
    assert "run T-2" in result.detail


@pytest.mark.parametrize("field", ["seq_run", "hash", "prev", "run"])
def test_a_malformed_entry_is_reported_not_raised(field: str) -> None:
    entries = build_chain()
    entries[4][field] = None
    result = verify_chain(entries)
    assert (result.problem, result.position) == (MODIFIED, 4)
    assert "malformed" in result.detail


def test_a_value_canonical_json_refuses_counts_as_modified() -> None:
    entries = build_chain()
    entries[4]["payload"]["ratio"] = float("nan")
    result = verify_chain(entries)
    assert (result.problem, result.entry_seq) == (MODIFIED, 5)


def test_an_empty_chain() -> None:
    assert verify_chain([]).ok
    assert verify_chain([], expected_len=3).problem == TRUNCATED


def test_entry_hash_ignores_bookkeeping_fields() -> None:
    entry = build_chain(1)[0]
    bare = {key: entry[key] for key in ("run", "seq_run", "kind", "step", "actor", "at", "payload")}
    assert entry_hash(entry, GENESIS) == entry_hash(bare, GENESIS) == entry["hash"]
