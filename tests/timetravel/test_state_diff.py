"""State diffs name every changed key path: added, removed or changed, through nested dicts and lists."""

from __future__ import annotations

from orchestrator.diffs import Change, state_diff


def test_it_names_nested_paths_by_kind():
    before = {"a": 1, "meta": {"owner": "x", "tags": ["p", "q"]}, "gone": True, "same": [1, {"k": 2}]}
    after = {"a": 2, "meta": {"owner": "x", "tags": ["p", "r", "s"], "new": None}, "same": [1, {"k": 2}],
             "fresh": "\x00nul"}

    assert state_diff(before, after) == [
        Change("a", "changed", 1, 2),
        Change("meta.tags[1]", "changed", "q", "r"),
        Change("meta.tags[2]", "added", None, "s"),
        Change("meta.new", "added", None, None),
        Change("gone", "removed", True, None),
        Change("fresh", "added", None, "\x00nul"),
    ]


def test_a_shrinking_list_and_a_type_change_are_reported():
    assert state_diff({"x": [1, 2, 3], "y": 1}, {"x": [1], "y": True}) == [
        Change("x[1]", "removed", 2, None), Change("x[2]", "removed", 3, None), Change("y", "changed", 1, True),
    ]


def test_blob_pointers_compare_by_content_hash_without_reading_the_blob():
    old = {"$blob": "a" * 64, "size": 10, "type": "application/json"}
    new = {"$blob": "b" * 64, "size": 12, "type": "application/json"}
    assert state_diff({"doc": old}, {"doc": dict(old)}) == []
    assert state_diff({"doc": old}, {"doc": new}) == [Change("doc", "changed", old, new)]


def test_identical_states_have_no_diff():
    state = {"a": {"b": [{"c": "d"}]}}
    assert state_diff(state, {"a": {"b": [{"c": "d"}]}}) == []
