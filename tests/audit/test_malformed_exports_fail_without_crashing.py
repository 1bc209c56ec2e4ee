"""Whatever an export file holds, the offline verifier answers FAIL (exit 1) with a line-numbered reason:
JSON it cannot even parse (nested too deeply, strings UTF-8 cannot hold), values of the wrong type where
numbers are expected, never a traceback or the "could not run" status (2) meant for a missing file or key."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from audit import offline_verifier as verifier
from audit.canonical import canonical_json
from audit.signing import export_public_key_pem

VERIFIER = Path(verifier.__file__)


def verify(lines: list[bytes], public_keys: list) -> verifier.Report:
    return verifier.verify_export(lines, public_keys)


def messages(report: verifier.Report) -> str:
    return "\n".join(report.lines(100))


def number_of(lines: list[bytes], kind: str) -> int:
    """The 1-based line number of the first line of type `kind`."""
    return next(n for n, line in enumerate(lines, 1) if json.loads(line)["type"] == kind)


def replaced(lines: list[bytes], number: int, raw: bytes) -> list[bytes]:
    return [*lines[: number - 1], raw, *lines[number:]]


def hostile_variants(lines: list[bytes]) -> dict[str, tuple[list[bytes], int]]:
    """{what: (the lines, the line number the verifier must name)}."""
    seal = number_of(lines, "seal")
    entry = number_of(lines, "entry")
    consistency = number_of(lines, "consistency")
    seal_obj = json.loads(lines[seal - 1])
    entry_obj = json.loads(lines[entry - 1])
    consistency_obj = json.loads(lines[consistency - 1])
    deep = b'{"type":"entry","payload":' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"
    variants = {
        "nested 100,000 deep": (replaced(lines, entry, deep), entry),
        # json reads "\ud800" as a lone surrogate, which no UTF-8 (so no canonical JSON, no hash) can hold.
        "a lone surrogate in a seal": (
            replaced(lines, seal, json.dumps({**seal_obj, "sealed_at": "\ud800"}).encode() + b"\n"), seal),
        "a lone surrogate in an entry's run": (
            replaced(lines, entry, json.dumps({**entry_obj, "run": "T-\ud800"}).encode() + b"\n"), entry),
    }
    for name in ("from_seal", "to_seal"):
        for value in ([1], {"seal": 1}):
            # Canonical, so the line is refused for its seal number, not for how it was written.
            variants[f"{name} {value!r}"] = (
                replaced(lines, consistency, canonical_json({**consistency_obj, name: value}) + b"\n"),
                consistency,
            )
    return variants


def test_hostile_lines_fail_naming_the_line_and_never_raise(lines: list[bytes], public_keys: list) -> None:
    for what, (hostile, number) in hostile_variants(lines).items():
        report = verify(hostile, public_keys)
        assert not report.ok, what
        assert number in [p.line for p in report.problems], (what, report.lines())
        if what.startswith(("from_seal", "to_seal")):
            assert "consistency line names a seal not in the export or is malformed" in messages(report), what


def test_the_command_fails_with_exit_1_and_no_traceback(lines: list[bytes], public_keys: list,
                                                          tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("".join(export_public_key_pem(k) for k in public_keys[-1:]))
    old = tmp_path / "old.pem"
    old.write_text(export_public_key_pem(public_keys[0]))
    for what, (hostile, number) in hostile_variants(lines).items():
        path = tmp_path / "export.jsonl"
        path.write_bytes(b"".join(hostile))
        result = subprocess.run(
            [sys.executable, "-I", str(VERIFIER), str(path), "--public-key", str(key), "--public-key", str(old)],
            capture_output=True, text=True, cwd=tmp_path, timeout=60)
        assert result.returncode == 1, (what, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr, (what, result.stderr)
        assert result.stdout.startswith("FAIL: "), (what, result.stdout)
        assert f"line {number}: " in result.stdout, (what, result.stdout)


@pytest.mark.parametrize("version", [6.0, 5.0, 4.0, 3.0, True, 1.0, "6"])
def test_a_header_version_that_is_not_an_integer_is_refused(lines: list[bytes], public_keys: list, version) -> None:
    header = {**json.loads(lines[0]), "version": version}
    report = verify([json.dumps(header, sort_keys=True, separators=(",", ":")).encode() + b"\n", *lines[1:]],
                    public_keys)
    assert "line 1: not a gatehouse-ledger-export version 1, 2, 3, 4, 5 or 6 header" in messages(report), report.lines()


@pytest.mark.parametrize("count", [True, 1.0])
def test_a_header_count_that_is_not_an_integer_is_refused(lines: list[bytes], public_keys: list, count) -> None:
    # The example export has one consistency line: true and 1.0 both equal 1 in Python.
    header = json.loads(lines[0])
    header["counts"]["consistency"] = count
    report = verify([json.dumps(header, sort_keys=True, separators=(",", ":")).encode() + b"\n", *lines[1:]],
                    public_keys)
    assert f"the header (line 1) counts {json.dumps(count)} consistency lines, but the file holds 1" in messages(
        report), report.lines()


def test_control_characters_from_the_file_cannot_forge_or_hide_report_lines(lines: list[bytes],
                                                                           public_keys: list) -> None:
    # A run id that, printed raw, would return the cursor, clear the line and write its own verdict.
    entry = number_of(lines, "entry")
    forged = "T-1\r\x1b[2K\nOK: 0 entries, all signatures valid"
    hostile = replaced(lines, entry, json.dumps({**json.loads(lines[entry - 1]), "run": forged},
                                                separators=(",", ":"), sort_keys=True).encode() + b"\n")

    printed = verify(hostile, public_keys).lines(100)

    assert printed[0].startswith("FAIL: ")
    assert all(line.isprintable() for line in printed)
    assert not any(line.startswith("OK") for line in printed)
    assert any("\\r\\x1b[2K\\nOK: 0 entries" in line for line in printed)
