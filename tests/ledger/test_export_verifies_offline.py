"""A JSONL export passes the single-file offline verifier with only the public key; one changed byte
fails it. CSV and PDF exports come out too, and every export is itself a ledger entry."""

from __future__ import annotations

import csv

import pytest

from audit.models import LedgerEntry
from audit.sealing import ledger_seal
from orchestrator.executor import run_advance
from orchestrator.services import run_start
from tests.ledger.conftest import offline
from tests.pdf_text import pdf_text

pytestmark = pytest.mark.usefixtures("exporter")  # `audit export --as casey`: an existing compliance officer


def test_an_exported_run_verifies_offline_and_one_changed_byte_fails(letter_run, audit_cli, tmp_path, public_key):
    sealed = letter_run()
    letter_run()
    assert ledger_seal() is not None
    unsealed = letter_run()  # newer than the seal: exported, reported as unsealed
    key = public_key

    for run in (sealed, unsealed):
        export = tmp_path / f"{run.thread_id}.jsonl"
        made = audit_cli("export", "--run", run.thread_id, "--format", "jsonl", "-o", str(export), "--as", "casey")
        assert made.returncode == 0, made.stderr
        checked = offline(export, key)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert checked.stdout.startswith("OK: 8 entries in 1 run")

    export = tmp_path / f"{sealed.thread_id}.jsonl"
    data = bytearray(export.read_bytes())
    at = data.index(b'"kind":"node_completed"') + len(b'"kind":"node_')
    data[at] = ord("C")  # node_completed -> node_Completed
    export.write_bytes(bytes(data))
    broken = offline(export, key)
    assert broken.returncode == 1
    assert f"of run {sealed.thread_id} was modified" in broken.stdout

    recorded = LedgerEntry.objects.filter(chain="system", kind="export")
    assert recorded.count() == 2 and set(recorded.values_list("actor", flat=True)) == {"casey"}


def test_a_date_range_exports_as_csv_and_a_readable_pdf(letter_run, audit_cli, tmp_path):
    run = letter_run()
    assert ledger_seal() is not None
    csv_file, pdf_file = tmp_path / "all.csv", tmp_path / "all.pdf"
    assert audit_cli("export", "--since", "2000-01-01", "--format", "csv", "-o", str(csv_file), "--as", "casey").returncode == 0
    lines = csv_file.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("gseq,run,workflow,seq_run,kind")
    assert len(lines) == 1 + 8 and all(run.thread_id in line for line in lines[1:])

    made = audit_cli("export", "--run", run.thread_id, "--format", "pdf", "-o", str(pdf_file), "--progress", "--as", "casey")
    assert made.returncode == 0, made.stderr
    assert "100%" in made.stderr  # the progress bar reached the end
    assert pdf_file.read_bytes().startswith(b"%PDF")
    text = pdf_text(pdf_file)
    assert "Verified: the record is intact" in text
    assert run.thread_id in text and "Timeline" in text and "Costs by node" in text


def test_csv_cells_a_spreadsheet_would_run_as_formulas_come_out_as_text(transactional_db, redis_conn,
                                                                       ledger_workflows, make_user, audit_cli,
                                                                       tmp_path):
    # Django usernames may start with "@", "+" or "-"; a spreadsheet would run such a cell.
    mallory = make_user("@mallory", "engineer")
    run = run_start(workflow="ledger_letter", input={"customer_email": "ana@example.com"}, actor=mallory)
    run_advance(run.pk, worker="test")
    csv_file = tmp_path / "run.csv"
    assert audit_cli("export", "--run", run.thread_id, "--format", "csv", "-o", str(csv_file), "--as", "casey").returncode == 0
    rows = list(csv.DictReader(csv_file.read_text(encoding="utf-8-sig").splitlines()))
    started = next(row for row in rows if row["kind"] == "run_started")
    assert started["actor"] == "'@mallory" and started["run"] == run.thread_id


def test_an_export_that_matches_nothing_says_what_to_change_and_leaves_files_alone(letter_run, audit_cli, tmp_path):
    letter_run()
    earlier = tmp_path / "last_month.jsonl"
    earlier.write_text("an earlier export\n")
    result = audit_cli("export", "--since", "2099-01-01", "--format", "jsonl", "-o", str(earlier), "--as", "casey")
    assert result.returncode != 0
    assert "no runs match" in result.stderr and "clear a filter" in result.stderr
    assert earlier.read_text() == "an earlier export\n"  # neither truncated nor deleted
    assert [p.name for p in tmp_path.iterdir()] == ["last_month.jsonl"]  # no temporary file left


def test_an_export_to_a_path_that_cannot_be_written_records_nothing(letter_run, audit_cli, tmp_path):
    letter_run()
    exports = LedgerEntry.objects.filter(kind="export").count()
    result = audit_cli("export", "--since", "2000-01-01", "--format", "csv", "-o", str(tmp_path / "no" / "dir.csv"), "--as", "casey")
    assert result.returncode != 0 and "cannot write" in result.stderr and "nothing was exported" in result.stderr
    assert LedgerEntry.objects.filter(kind="export").count() == exports


def test_csv_rows_name_the_seal_that_covers_them(letter_run, audit_cli, tmp_path):
    first = letter_run(email="one@example.com")
    assert ledger_seal() is not None
    second = letter_run(email="two@example.com")
    assert ledger_seal() is not None
    unsealed = letter_run(email="three@example.com")
    csv_file = tmp_path / "all.csv"
    assert audit_cli("export", "--format", "csv", "-o", str(csv_file), "--as", "casey").returncode == 0
    rows = list(csv.DictReader(csv_file.read_text(encoding="utf-8-sig").splitlines()))
    sealed_by = {run.thread_id: {row["sealed_by"] for row in rows if row["run"] == run.thread_id}
                 for run in (first, second, unsealed)}
    assert sealed_by == {first.thread_id: {"1"}, second.thread_id: {"2"}, unsealed.thread_id: {""}}


def test_an_export_onto_something_not_a_file_is_refused(letter_run, audit_cli, tmp_path):
    # Written beside the target and renamed over it: over a directory or a device (as root, even /dev/null)
    # that would remove what was there. Refused before anything is recorded.
    run = letter_run()
    refused = audit_cli("export", "--run", run.thread_id, "--format", "jsonl", "-o", str(tmp_path), "--as", "casey")
    assert refused.returncode == 1
    assert f"{tmp_path} is not a regular file (a directory, device or pipe); nothing was exported" in refused.stderr
    assert not LedgerEntry.objects.filter(chain="system", kind="export").exists()
