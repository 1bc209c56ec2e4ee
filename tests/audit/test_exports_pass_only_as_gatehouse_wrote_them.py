"""An export passes only as Gatehouse wrote it: every line in canonical JSON (so no `-0`, `1.0`, escaped or
reordered keys, whitespace or CRLF that another reader might take differently), the manifest last, one
consistency proof per pair of consecutive seals, and a version 1 header only on a file that holds nothing
of version 2 (a manifest, seal run heads): a newer export relabelled version 1 would skip the manifest.
Likewise a version 4 export relabelled version 3 (or 2) would skip the check of which seal pins each run:
the manifest signs its version, so the header must say the same."""

from __future__ import annotations

import json

import pytest

from audit import offline_verifier as verifier
from audit.canonical import canonical_json
from tests.audit.ledger_export_builder import _recount, cut_run, export_lines, resign_manifest


def verify(lines: list[bytes], public_keys: list, **options: bool) -> verifier.Report:
    return verifier.verify_export(lines, public_keys, **options)


def messages(report: verifier.Report) -> str:
    return "\n".join(report.lines(100))


def numbers_of(lines: list[bytes], kind: str) -> list[int]:
    return [n for n, line in enumerate(lines, 1) if json.loads(line)["type"] == kind]


def rewritten(lines: list[bytes], number: int, raw: bytes) -> list[bytes]:
    return [*lines[: number - 1], raw, *lines[number:]]


@pytest.mark.parametrize("change", [
    pytest.param(lambda line: line.replace(b'"step":0,', b'"step":-0,'), id="-0"),
    pytest.param(lambda line: line.replace(b'"seq_run":1,', b'"seq_run":1 ,'), id="whitespace"),
    pytest.param(lambda line: line.replace(b'"kind":"run.started"', b'"kind":"run.st\\u0061rted"'), id="escaped"),
    pytest.param(lambda line: line[:-1] + b"\r\n", id="crlf"),
    pytest.param(lambda line: json.dumps(dict(reversed(json.loads(line).items())), separators=(",", ":")).encode()
                 + b"\n", id="keys-unsorted"),
])
def test_a_line_not_in_canonical_json_fails_naming_it(lines: list[bytes], public_keys: list, change) -> None:
    number = numbers_of(lines, "entry")[0]
    altered = change(lines[number - 1])
    assert altered != lines[number - 1] and json.loads(altered) == json.loads(lines[number - 1])
    report = verify(rewritten(lines, number, altered), public_keys)
    assert f"line {number}: is not written as Gatehouse writes export lines (canonical JSON" in messages(report), (
        report.lines())


def test_the_manifest_must_be_the_last_line(lines: list[bytes], public_keys: list) -> None:
    moved = [lines[0], lines[-1], *lines[1:-1]]
    assert "line 2: the manifest is not the last line" in messages(verify(moved, public_keys))
    proof = lines[numbers_of(lines, "proof")[0] - 1]
    appended = _recount([*lines[:numbers_of(lines, "proof")[0] - 1], *lines[numbers_of(lines, "proof")[0]:], proof])
    assert f"line {len(lines) - 1}: the manifest is not the last line" in messages(verify(appended, public_keys))


def test_consistency_proofs_must_cover_each_pair_of_seals_once(lines: list[bytes], public_keys: list) -> None:
    number = numbers_of(lines, "consistency")[0]
    removed = _recount([*lines[: number - 1], *lines[number:]])
    assert ("no consistency proof shows seal 2's tree extends seal 1's: the line was removed"
            in messages(verify(removed, public_keys)))
    doubled = _recount([*lines[:number], lines[number - 1], *lines[number:]])
    assert f"line {number + 1}: a second consistency proof from seal 1 to seal 2" in messages(
        verify(doubled, public_keys))


def test_a_newer_export_relabelled_version_1_fails_even_when_version_1_is_allowed(
        lines: list[bytes], public_keys: list) -> None:
    relabelled = [canonical_json({**json.loads(lines[0]), "version": 1}) + b"\n", *lines[1:]]
    cut = cut_run(relabelled, "T-1", 10)  # what relabelling would hide: the manifest lists 12 entries
    report = verify(cut, public_keys, allow_version_1=True)
    assert (f"line {len(cut)}: a manifest, which version 1 exports never have: the header's version was changed"
            in messages(report)), report.lines()
    seal = numbers_of(cut, "seal")[0]
    assert f"line {seal}: seal 1 carries run heads (chains), which version 1 exports never have" in messages(report)


def relabel(lines: list[bytes], version: int) -> list[bytes]:
    return [canonical_json({**json.loads(lines[0]), "version": version}) + b"\n", *lines[1:]]


@pytest.mark.parametrize("version", [3, 2])
def test_a_version_4_export_relabelled_an_older_version_fails(ledger, public_keys: list, version: int) -> None:
    # What relabelling would hide: T-1 cut back to seal 1 in the database before the export, and seal 2's
    # run heads (T-1 at 8 entries) stripped, which only version 4's pinned_by catches.
    lines = resign_manifest(cut_run(export_lines(ledger, runs=["T-1"]), "T-1", 4), ledger.key)
    seal_2 = numbers_of(lines, "seal")[1]
    unheaded = {k: v for k, v in json.loads(lines[seal_2 - 1]).items() if k not in ("chains", "chains_signature")}
    stripped = rewritten(lines, seal_2, canonical_json(unheaded) + b"\n")
    assert not verify(stripped, public_keys).ok
    report = verify(relabel(stripped, version), public_keys)
    assert [p.message for p in report.problems if p.line == len(lines)] == [
        f"the manifest signs format version 6, but the header says version {version}: the header's version was "
        "changed (which would skip version 6's checks)"
    ], report.lines()


def test_version_3_and_4_exports_verify_as_written(ledger, public_keys: list) -> None:
    for version in (3, 4):
        report = verify(export_lines(ledger, runs=["T-1"], version=version), public_keys)
        assert report.ok and "matches its signed manifest" in report.summary, (version, report.lines())
    # A version 3 manifest cannot say which seal pins a run: the verifier says what that leaves open.
    old = verify(export_lines(ledger, runs=["T-3"], version=3), public_keys)
    assert old.warnings == [
        "this is a version 3 export: its manifest does not sign which seal pins each run, so it cannot show "
        "that entries deleted from Gatehouse's database before the export were not cut off a run's end; ask "
        "Gatehouse's operators for a new export to check that"
    ]
    assert verify(export_lines(ledger, runs=["T-3"]), public_keys).warnings == []
