"""A run retention pruned is stated in the export (a `pruned` line, signed in the manifest) and the offline
verifier holds it to the head a seal signed for the run: it passes as "pruned, its head proven by seal N",
while a removed, added, altered or unprovable statement fails, as do entries exported for a run stated
pruned. Version 2 exports (made before pruned runs were stated) still verify."""

from __future__ import annotations

import json

import pytest

from audit import offline_verifier as verifier
from audit.canonical import canonical_json
from audit.signing import MANIFEST_CONTEXT, sign_document
from tests.audit.ledger_export_builder import Ledger, _recount, export_lines, prune_records, resign_manifest

# T-3's 7 entries are all sealed (seal 2 signed its head), so retention may prune it; T-1 and T-2 stay.
PRUNED = ("T-3",)


@pytest.fixture(scope="module")
def ledger(pruned_ledger: Ledger) -> Ledger:
    # Retention recorded pruning T-3 in the system chain, which a version 5 export must include.
    return pruned_ledger


@pytest.fixture(scope="module")
def pruned_lines(ledger: Ledger) -> list[bytes]:
    return export_lines(ledger, pruned=PRUNED)


def verify(lines: list[bytes], public_keys: list) -> verifier.Report:
    return verifier.verify_export(lines, public_keys)


def messages(report: verifier.Report) -> str:
    return "\n".join(report.lines(100))


def replace(lines: list[bytes], kind: str, change) -> list[bytes]:
    """The lines with the first line of type `kind` replaced by change(its object) (nothing re-signed)."""
    number = next(n for n, line in enumerate(lines) if json.loads(line)["type"] == kind)
    return [*lines[:number], canonical_json(change(json.loads(lines[number]))) + b"\n", *lines[number + 1:]]


def test_a_pruned_run_verifies_as_proven_by_its_seal(ledger: Ledger, pruned_lines: list[bytes], public_keys: list):
    report = verify(pruned_lines, public_keys)
    assert report.ok, report.lines()
    (record,) = prune_records(ledger, "T-3")
    assert report.lines()[:2] == [
        "OK: 21 entries in 2 runs, 1 pruned run (1 system entry records its prune), 3 seals, all signatures valid "
        "(22 proven into seals, 5 redacted, matches its signed manifest)",
        "run T-3 was pruned by retention on 2026-07-01 (workflow demo keeps finished runs 395 days; it finished "
        "2025-06-01): its 7 entries are no longer held, and its final head (entry 7) is proven by seal 2; retention "
        f"recorded the prune in entry 2 of the system chain (gseq {record['gseq']}), proven by seal 3",
    ]
    alone = verify(export_lines(ledger, runs=["T-3"], pruned=PRUNED), public_keys)
    assert alone.ok and alone.summary.startswith("OK: 0 entries in 0 runs, 1 pruned run (1 system entry records its "
                                                 "prune), 3 seals"), alone.lines()


def test_dropping_any_line_of_an_export_with_a_pruned_run_fails(pruned_lines: list[bytes], public_keys: list):
    for number in range(1, len(pruned_lines) + 1):
        dropped = pruned_lines[: number - 1] + pruned_lines[number:]
        # The header's counts edited to match, so the drop must be caught by what the line proved.
        assert not verify(dropped if number == 1 else _recount(dropped), public_keys).ok, number


def test_every_byte_flip_in_a_pruned_line_fails(pruned_lines: list[bytes], public_keys: list):
    number = next(n for n, line in enumerate(pruned_lines) if b'"type":"pruned"' in line)
    for at in range(len(pruned_lines[number])):
        for mask in (0x01, 0x80):
            flipped = list(pruned_lines)
            line = flipped[number]
            flipped[number] = line[:at] + bytes([line[at] ^ mask]) + line[at + 1:]
            assert not verify(flipped, public_keys).ok, (at, mask)


def test_a_removed_or_added_statement_fails(ledger: Ledger, pruned_lines: list[bytes], public_keys: list):
    # The pruned line removed, the header's counts edited to match: the manifest still states it.
    removed = [line for line in pruned_lines if b'"type":"pruned"' not in line]
    removed = replace(removed, "header", lambda h: {**h, "counts": {**h["counts"], "pruned": 0}})
    assert ("the signed manifest states run T-3 was pruned, but the export has no pruned line for it: the line was "
            "removed") in messages(verify(removed, public_keys))
    # T-3's entries exported as well as its statement: a pruned run has none left.
    both = export_lines(ledger)
    pruned_line = next(line for line in pruned_lines if b'"type":"pruned"' in line)
    both = [*both[:-1], pruned_line, both[-1]]
    both = replace(both, "header", lambda h: {**h, "counts": {**h["counts"], "pruned": 1}})
    report = messages(verify(resign_manifest(both, ledger.key), public_keys))
    assert "run T-3 is stated as pruned, but the export holds 7 entries of it: a pruned run has none left" in report
    assert "the signed manifest lists run T-3 both with entries and as pruned" in report


def test_a_statement_the_seals_contradict_fails_even_signed(ledger: Ledger, pruned_lines: list[bytes],
                                                            public_keys: list):
    # As if the database's record of the prune had been altered before Gatehouse signed the export.
    t1_head = next(json.loads(line)["hash"] for line in pruned_lines if b'"run":"T-1","seq_run":7,' in line)
    for change, expected in [
        ({"head": t1_head}, f"run T-3 is stated as pruned at entry 7 (head {t1_head[:12]}...), but seal 2 signed "
                            "entry 7 (head "),
        ({"length": 5}, "run T-3 is stated as pruned at entry 5 ("),
        ({"sealed_by": 1}, "run T-3's pruned line names seal 1 as the one that signed its head, but that is seal 2"),
    ]:
        altered = resign_manifest(replace(pruned_lines, "pruned", lambda line, c=change: {**line, **c}), ledger.key)
        report = verify(altered, public_keys)
        assert expected in messages(report), (change, report.lines())
        assert "it was altered after export" not in messages(report)  # the manifest itself is genuine


def test_a_pruned_run_no_seal_signed_fails(ledger: Ledger, pruned_lines: list[bytes], public_keys: list):
    def strip(lines: list[bytes], seal_nos: set[int]) -> list[bytes]:
        """The lines with the run heads (chains) of these seals removed."""
        out = []
        for line in lines:
            obj = json.loads(line)
            if obj["type"] == "seal" and obj["seal_no"] in seal_nos:
                line = canonical_json({k: v for k, v in obj.items() if k not in ("chains", "chains_signature")})
                line += b"\n"
            out.append(line)
        return out

    # Seal 2's heads (the newest for T-3) stripped: seal 1 pinned only its first 3 entries.
    assert "run T-3 is stated as pruned at entry 7 (head " in messages(verify(strip(pruned_lines, {2}), public_keys))
    assert "but seal 1 signed entry 3 (head " in messages(verify(strip(pruned_lines, {2}), public_keys))
    # Both stripped: nothing left proves what was pruned.
    assert ("run T-3 is stated as pruned at 7 entries, but no seal in the export signed a head for it, so what was "
            "pruned cannot be proven") in messages(verify(strip(pruned_lines, {1, 2}), public_keys))


def test_a_version_2_export_still_verifies_and_cannot_state_pruned_runs(ledger: Ledger, public_keys: list):
    def as_version_2(lines: list[bytes]) -> list[bytes]:
        """What the exporter wrote before version 3: no pruned count, a manifest without `pruned` (nor version
        4's `version` and `pinned_by`)."""
        objects = [json.loads(line) for line in lines]
        header = {**objects[0], "version": 2,
                  "counts": {k: v for k, v in objects[0]["counts"].items() if k != "pruned"}}
        body = {k: v for k, v in objects[-1].items()
                if k not in ("type", "signature", "pruned", "version", "pinned_by", "seals", "sealed_upto")}
        manifest = {"type": "manifest", **body, "signature": sign_document(MANIFEST_CONTEXT, body, ledger.key)}
        return [canonical_json(header) + b"\n", *lines[1:-1], canonical_json(manifest) + b"\n"]

    old = verify(as_version_2(export_lines(ledger)), public_keys)
    assert old.ok and "matches its signed manifest" in old.summary, old.lines()
    smuggled = messages(verify(as_version_2(export_lines(ledger, pruned=PRUNED, version=4)), public_keys))
    assert ("the file holds 1 pruned line, which only exports of version 3 or later have, but its header says version 2: lines "
            "were added") in smuggled
    assert "run T-3's pruned line is not in the signed manifest: it was added to the export" in smuggled
