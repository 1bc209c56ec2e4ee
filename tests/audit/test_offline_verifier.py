"""The single-file offline verifier accepts a genuine export and names what was done to a tampered one."""

from __future__ import annotations

import ast
import random
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit import canonical, chain, merkle, sealing, signing
from audit import offline_verifier as verifier
from audit.signing import export_public_key_pem
from tests.audit.ledger_export_builder import Ledger, export_lines

VERIFIER = Path(verifier.__file__)


@pytest.fixture
def key_files(tmp_path: Path, keys: tuple[Ed25519PrivateKey, Ed25519PrivateKey]) -> list[Path]:
    paths = []
    for name, key in zip(("old.pem", "new.pem"), keys, strict=True):
        path = tmp_path / name
        path.write_text(export_public_key_pem(key.public_key()))
        paths.append(path)
    return paths


def run_verifier(export: list[bytes], tmp_path: Path, key_files: list[Path], *extra: str):
    path = tmp_path / "export.jsonl"
    path.write_bytes(b"".join(export))
    args = [sys.executable, str(VERIFIER), str(path)]
    for key_file in key_files:
        args += ["--public-key", str(key_file)]
    # Run from an empty directory with a bare environment: the script must not need the project.
    return subprocess.run(
        [*args, *extra],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        timeout=60,
    )


def entry_line_numbers(lines: list[bytes]) -> list[int]:
    return [n for n, line in enumerate(lines, 1) if line.startswith(b"{") and b'"type":"entry"' in line]


# --- As a subprocess, the way an auditor runs it ---


def test_a_genuine_export_verifies(lines: list[bytes], tmp_path: Path, key_files: list[Path]) -> None:
    result = run_verifier(lines, tmp_path, key_files)
    assert result.returncode == 0, result.stdout + result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("OK: 28 entries in 3 runs, 2 seals, all signatures valid (22 proven into seals")
    assert "WARNING: 6 entries are unsealed" in result.stdout


def test_unsealed_entries_fail_when_sealing_is_required(
    lines: list[bytes], tmp_path: Path, key_files: list[Path]
) -> None:
    result = run_verifier(lines, tmp_path, key_files, "--require-sealed")
    assert result.returncode == 1
    assert "is unsealed" in result.stdout


def test_a_flipped_byte_in_an_entry_fails_and_names_it(
    lines: list[bytes], tmp_path: Path, key_files: list[Path]
) -> None:
    number = entry_line_numbers(lines)[6]
    tampered = list(lines)
    line = tampered[number - 1]
    at = line.index(b'"tokens":') + len(b'"tokens":')
    tampered[number - 1] = line[:at] + bytes([line[at] ^ 0x01]) + line[at + 1 :]
    result = run_verifier(tampered, tmp_path, key_files)
    assert result.returncode == 1
    assert result.stdout.startswith(f"FAIL: line {number}: entry ")
    assert "was modified: its hash no longer matches its contents" in result.stdout.splitlines()[0]


def test_a_dropped_entry_line_fails(lines: list[bytes], tmp_path: Path, key_files: list[Path]) -> None:
    number = entry_line_numbers(lines)[10]
    result = run_verifier(lines[: number - 1] + lines[number:], tmp_path, key_files)
    assert result.returncode == 1
    assert "was deleted" in result.stdout
    assert "has no entry line: an entry was removed" in result.stdout


def test_a_seal_signed_by_an_unknown_key_fails(
    lines: list[bytes], tmp_path: Path, key_files: list[Path]
) -> None:
    result = run_verifier(lines, tmp_path, key_files[1:])
    assert result.returncode == 1
    assert "seal 1 was signed by key" in result.stdout and "not among the public keys given" in result.stdout


def test_an_unreadable_key_is_a_usage_error(lines: list[bytes], tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.pem"
    bogus.write_text("not a key")
    result = run_verifier(lines, tmp_path, [bogus])
    assert result.returncode == 2
    assert result.stderr.startswith("error:")


# --- In process, exhaustively ---


def verify(lines: list[bytes], public_keys: list, **options: bool) -> verifier.Report:
    return verifier.verify_export(lines, public_keys, **options)


def flip(lines: list[bytes], number: int, at: int, mask: int = 0x01) -> list[bytes]:
    tampered = list(lines)
    line = tampered[number - 1]
    tampered[number - 1] = line[:at] + bytes([line[at] ^ mask]) + line[at + 1 :]
    return tampered


def test_every_single_byte_flip_in_an_entry_line_is_caught_and_named(
    lines: list[bytes], public_keys: list
) -> None:
    for number in (entry_line_numbers(lines)[4], entry_line_numbers(lines)[17]):
        for at in range(len(lines[number - 1])):
            for mask in (0x01, 0x80):
                report = verify(flip(lines, number, at, mask), public_keys)
                assert not report.ok, (number, at, mask)
                named = [p.line for p in report.problems]
                assert number in named, (number, at, mask, report.lines())


def test_byte_flips_anywhere_never_crash_the_verifier(lines: list[bytes], public_keys: list) -> None:
    rng = random.Random(6962)
    for number in range(1, len(lines) + 1):
        for at in rng.sample(range(len(lines[number - 1])), 25):
            report = verify(flip(lines, number, at, rng.choice((0x01, 0x02, 0x10, 0x80))), public_keys)
            # The header is unsigned and partly descriptive (generated_at, scope labels), so some of
            # its bytes can change unnoticed; every other line is covered by a hash, proof or signature.
            assert number == 1 or not report.ok, (number, at)


def test_dropping_any_line_fails(lines: list[bytes], public_keys: list) -> None:
    for number in range(1, len(lines) + 1):
        report = verify(lines[: number - 1] + lines[number:], public_keys)
        assert not report.ok, number


def test_a_subset_export_of_one_run_verifies(ledger: Ledger, public_keys: list) -> None:
    report = verify(export_lines(ledger, runs=["T-2"]), public_keys)
    assert report.ok, report.lines()
    assert report.summary.startswith("OK: 9 entries in 1 run, 2 seals")


def test_swapped_gseq_values_are_named(lines: list[bytes], public_keys: list) -> None:
    import json

    numbers = entry_line_numbers(lines)[:2]
    objs = [json.loads(lines[n - 1]) for n in numbers]
    objs[0]["gseq"], objs[1]["gseq"] = objs[1]["gseq"], objs[0]["gseq"]
    tampered = list(lines)
    for n, obj in zip(numbers, objs, strict=True):
        tampered[n - 1] = canonical.canonical_json(obj) + b"\n"
    report = verify(tampered, public_keys)
    assert {p.line for p in report.problems} >= set(numbers)
    assert "its gseq was altered" in "\n".join(report.lines())


def test_a_rewritten_seal_fails_its_signature(lines: list[bytes], public_keys: list) -> None:
    number = next(n for n, line in enumerate(lines, 1) if b'"type":"seal"' in line)
    tampered = list(lines)
    tampered[number - 1] = tampered[number - 1].replace(b'"tree_size":10', b'"tree_size":11')
    report = verify(tampered, public_keys)
    assert any(p.line == number and "signature is not valid" in p.message for p in report.problems)


def test_duplicate_keys_in_a_line_are_refused(lines: list[bytes], public_keys: list) -> None:
    number = entry_line_numbers(lines)[0]
    tampered = list(lines)
    tampered[number - 1] = tampered[number - 1].replace(b'{"actor":null,', b'{"actor":"x","actor":null,', 1)
    report = verify(tampered, public_keys)
    assert any(p.line == number and "duplicate key" in p.message for p in report.problems)


# --- It stays a standalone single file whose copies match the project ---


def test_it_imports_nothing_from_the_project() -> None:
    tree = ast.parse(VERIFIER.read_text())
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= set(sys.stdlib_module_names) | {"cryptography", "__future__"}, imported


def _definitions(source: str) -> dict[str, str]:
    out = {}
    for node in ast.parse(source).body:
        names = []
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names = [node.name]
        elif isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        for name in names:
            out[name] = ast.unparse(node)
    return out


def test_its_copies_are_identical_to_the_originals() -> None:
    copied = _definitions(VERIFIER.read_text())
    checked = 0
    for module in (canonical, chain, merkle, signing, sealing):
        for name, definition in _definitions(Path(module.__file__).read_text()).items():
            if name in copied:
                assert copied[name] == definition, (
                    f"{name} in the verifier differs from {module.__name__}.{name}"
                )
                checked += 1
    assert checked >= 39
    for name in (
        "canonical_json",
        "entry_hash",
        "verify_chain",
        "verify_inclusion",
        "verify_consistency",
        "TreeHead",
        "head_hash",
        "verify_head",
        "SIGNING_CONTEXT",
        "GENESIS",
        "MANIFEST_CONTEXT",
        "verify_document",
        "CHAINS_CONTEXT",
        "verify_chains_signature",
    ):
        assert name in copied
