"""An auditor who gives the offline verifier the wrong file is told what it is and what to give instead:
a CSV export or a PDF report (Gatehouse's other export formats) failed with "is not valid JSON" on every
line, a key file holding no key with cryptography's own words, and one unsealed entry read "1 entries"."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit import offline_verifier as verifier
from audit.exports import CSV_COLUMNS
from audit.signing import export_public_key_pem
from tests.audit.ledger_export_builder import EXAMPLE_RUNS, build_ledger, export_lines

VERIFIER = Path(verifier.__file__)
INSTEAD = ("not a JSONL export: only a JSONL export carries the proofs and signatures to check. Export the same "
           "runs as JSONL (the audit page's Export, Format JSONL; or `manage.py audit export --format jsonl`) "
           "and check that file")


def _verify(export: Path, key: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-I", str(VERIFIER), str(export), "--public-key", str(key)],
                          capture_output=True, text=True, cwd=export.parent, timeout=60)


def test_a_csv_or_pdf_export_is_named_with_what_to_give_instead(public_keys: list, tmp_path: Path) -> None:
    key = tmp_path / "keys.pem"
    key.write_text(export_public_key_pem(public_keys[-1]))
    csv_export = tmp_path / "ledger-T-1-2026-01-31.csv"
    csv_export.write_text("\ufeff" + ",".join(CSV_COLUMNS) + "\r\n1,T-1,demo,1,run_started,0,,2026-01-31T10:00:00Z,{},"
                          "0,ab,no,1\r\n", encoding="utf-8")
    pdf_export = tmp_path / "ledger-T-1-2026-01-31.pdf"
    pdf_export.write_bytes(b"%PDF-1.4\n%\x93\x8c\x8b\x9e ReportLab Generated PDF document\n1 0 obj\n")

    for export, what in ((csv_export, "a CSV export"), (pdf_export, "a PDF report")):
        result = _verify(export, key)
        assert result.returncode == 1 and result.stderr == ""
        assert result.stdout == f"FAIL: line 1: this is {what}, {INSTEAD}\n"


def test_a_key_file_without_a_key_is_named_with_what_to_give(lines: list[bytes], tmp_path: Path) -> None:
    export = tmp_path / "export.jsonl"
    export.write_bytes(b"".join(lines))
    result = _verify(export, export)  # the export given as the key, as a slip of the shell
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (f"error: {export} holds no PEM public key: give the file `manage.py audit public-key "
                             "--all` prints (or a ledger key's *.pub.pem)\n")


def test_one_unsealed_entry_is_one_entry() -> None:
    key = Ed25519PrivateKey.generate()
    ledger = build_ledger(EXAMPLE_RUNS, seal_sizes=[10, sum(EXAMPLE_RUNS.values()) - 1], keys=[key])
    report = verifier.verify_export(export_lines(ledger), [key.public_key()])
    assert report.ok
    assert report.warnings == ["1 entry is unsealed (newer than the last seal): entry 12 of run T-1"]
