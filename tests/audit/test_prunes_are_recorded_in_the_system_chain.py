"""A pruned run is proven pruned *by retention* offline (version 5): the export includes the system chain's
retention_pruned entry that recorded the prune, with its inclusion proof, and each pruned line names it
(`recorded_by`, signed in the manifest). A forged prune (entries deleted behind a hand-written prune record,
no system entry) fails offline naming the run, and so does an export with the system entry's line removed,
altered or added. Version 4 exports still verify under their own rules, with a warning."""

from __future__ import annotations

import json

import pytest

from audit import offline_verifier as verifier
from audit.canonical import canonical_json
from tests.audit import ledger_export_builder as builder
from tests.audit.conftest import EXPORT_RECORD, PRUNE_RECORD
from tests.audit.ledger_export_builder import (
    EXAMPLE_RUNS,
    Ledger,
    _recount,
    build_ledger,
    export_lines,
    prune_records,
)

PRUNED = ("T-3",)


def messages(report: verifier.Report) -> str:
    return "\n".join(report.lines(100))


@pytest.fixture(scope="module")
def record(pruned_ledger: Ledger) -> dict:
    """The system entry that recorded T-3's prune (entry 2 of the system chain)."""
    (entry,) = prune_records(pruned_ledger, "T-3")
    return entry


def test_a_genuine_prune_names_the_system_entry_that_recorded_it(pruned_ledger: Ledger, record: dict,
                                                                 public_keys: list):
    for runs in (None, ["T-3"]):
        lines = export_lines(pruned_ledger, runs=runs, pruned=PRUNED)
        objects = [json.loads(line) for line in lines]
        assert objects[0]["version"] == 6
        assert [o for o in objects if o["type"] == "entry" and o["run"] == "system"] == [{"type": "entry", **record}]
        assert next(o for o in objects if o["type"] == "pruned")["recorded_by"] == [record["gseq"]]
        report = verifier.verify_export(lines, public_keys, require_sealed=True)
        assert report.ok, report.lines()
        assert (f"its final head (entry 7) is proven by seal 2; retention recorded the prune in entry 2 of the system "
                f"chain (gseq {record['gseq']}), proven by seal 3") in messages(report)
    alone = verifier.verify_export(export_lines(pruned_ledger, runs=["T-3"], pruned=PRUNED), public_keys)
    assert alone.summary.startswith("OK: 0 entries in 0 runs, 1 pruned run (1 system entry records its prune), "
                                    "3 seals"), alone.lines()


def test_a_forged_prune_fails_naming_the_run(ledger: Ledger, public_keys: list):
    # The example ledger has no system entries: T-3's entries gone behind a forged prune record, exported as
    # Gatehouse would export it (the manifest genuinely signed, recording none).
    lines = export_lines(ledger, pruned=PRUNED)
    assert next(json.loads(line) for line in lines if b'"type":"pruned"' in line)["recorded_by"] == []
    report = verifier.verify_export(lines, public_keys)
    assert not report.ok
    assert ("run T-3 is stated as pruned, but no retention_pruned entry of the system chain records pruning it: "
            "its entries were deleted outside retention, behind a forged prune record") in messages(report)


def test_a_removed_system_entry_fails(pruned_ledger: Ledger, record: dict, public_keys: list):
    lines = export_lines(pruned_ledger, runs=["T-3"], pruned=PRUNED)
    gseq = record["gseq"]
    # The entry line and its proof removed, the header's counts edited to match.
    dropped = _recount([line for line in lines if not (json.loads(line)["type"] in ("entry", "proof")
                                                       and json.loads(line)["gseq"] == gseq)])
    report = messages(verifier.verify_export(dropped, public_keys))
    assert (f"run T-3's pruned line names gseq {gseq} of the system chain as the record of its prune, but the "
            "export holds no such entry: it was removed") in report
    # Every single line dropped fails too.
    for number in range(1, len(lines) + 1):
        dropped = lines[: number - 1] + lines[number:]
        assert not verifier.verify_export(dropped if number == 1 else _recount(dropped), public_keys).ok, number


def test_an_altered_or_added_system_entry_fails(pruned_ledger: Ledger, record: dict, public_keys: list):
    lines = export_lines(pruned_ledger, runs=["T-3"], pruned=PRUNED)
    at = next(n for n, line in enumerate(lines) if json.loads(line).get("run") == "system")
    # The payload made to list another run: its hash no longer matches.
    other = {**json.loads(lines[at]), "payload": {**record["payload"], "runs": ["T-2"]}}
    altered = [*lines[:at], canonical_json(other) + b"\n", *lines[at + 1:]]
    assert (f"entry 2 of the system chain (gseq {record['gseq']}) was modified: its hash no longer matches its "
            "contents") in messages(verifier.verify_export(altered, public_keys))
    # Another system entry slipped in: no pruned line names it.
    first = next(e for e in pruned_ledger.entries if e["run"] == "system" and e["seq_run"] == 1)
    added = _recount([*lines[:at], canonical_json({"type": "entry", **first}) + b"\n", *lines[at:]])
    assert (f"entry 1 of the system chain (gseq {first['gseq']}) is in the export, but no pruned line names it as "
            "the record of its prune: it was added") in messages(verifier.verify_export(added, public_keys))


def test_an_unsealed_prune_record_warns_and_fails_when_sealing_is_required(keys, public_keys: list):
    # Exported before the next seal: the system entry has no proof yet.
    ledger = build_ledger(EXAMPLE_RUNS, seal_sizes=[10, 22], keys=list(keys), system=[EXPORT_RECORD, PRUNE_RECORD])
    (record,) = prune_records(ledger, "T-3")
    lines = export_lines(ledger, runs=["T-3"], pruned=PRUNED)
    report = verifier.verify_export(lines, public_keys)
    assert report.ok, report.lines()
    assert (f"retention recorded the prune in entry 2 of the system chain (gseq {record['gseq']}), not sealed yet"
            in messages(report))
    assert "1 entry is unsealed (newer than the last seal): entry 2 of the system chain" in messages(report)
    strict = verifier.verify_export(lines, public_keys, require_sealed=True)
    assert "entry 2 of the system chain is unsealed (--require-sealed)" in messages(strict)


def test_a_version_4_export_verifies_with_a_warning_and_a_relabelled_one_fails(pruned_ledger: Ledger,
                                                                               public_keys: list):
    old = verifier.verify_export(export_lines(pruned_ledger, runs=["T-3"], pruned=PRUNED, version=4), public_keys)
    assert old.ok, old.lines()
    assert old.warnings == [
        "this is a version 4 export: it does not include the system chain's record of each prune, so it cannot "
        "show that run T-3 was pruned by retention rather than deleted behind a forged prune record; ask "
        "Gatehouse's operators for a new export to check that"
    ]
    lines = export_lines(pruned_ledger, runs=["T-3"], pruned=PRUNED)
    relabelled = [canonical_json({**json.loads(lines[0]), "version": 4}) + b"\n", *lines[1:]]
    assert ("the manifest signs format version 6, but the header says version 4: the header's version was changed "
            "(which would skip version 6's checks)") in messages(verifier.verify_export(relabelled, public_keys))


def test_a_system_entry_that_does_not_record_the_prune_fails(pruned_ledger: Ledger, public_keys: list, monkeypatch):
    other = next(e for e in pruned_ledger.entries if e["run"] == "system" and e["kind"] == "export")
    monkeypatch.setattr(builder, "prune_records", lambda ledger, run: [other])
    lines = export_lines(pruned_ledger, runs=["T-3"], pruned=PRUNED)
    report = verifier.verify_export(lines, public_keys)
    assert not report.ok
    assert (f"(gseq {other['gseq']}) is a export entry that does not list run T-3, though run T-3's pruned line "
            "names it as the record of its prune") in messages(report), report.lines()
