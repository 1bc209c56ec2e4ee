"""`audit export -o` a path the system cannot even look at (a file name longer than the file system takes)
is refused in one line saying what to do, and nothing is exported or recorded, as an unwritable path is:
the check whether the target was a regular file printed an OSError traceback."""

from __future__ import annotations

from audit.models import LedgerEntry
from tests.ledger.conftest import refusal


def test_a_file_name_too_long_is_one_line(letter_run, audit_cli, exporter, tmp_path):
    letter_run()
    exports = LedgerEntry.objects.filter(kind="export").count()
    target = tmp_path / ("x" * 300 + ".jsonl")

    said = refusal(audit_cli("export", "--format", "csv", "-o", str(target), "--as", "casey"))

    assert said == (f"cannot write {target} (File name too long); nothing was exported or recorded. Pick a writable "
                    "path, or -o - for standard output.")
    assert LedgerEntry.objects.filter(kind="export").count() == exports
    assert list(tmp_path.iterdir()) == []
