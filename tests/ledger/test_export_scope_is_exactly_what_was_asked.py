"""An export covers exactly what was asked, or nothing: an empty run id (`--run ""`, e.g. an unset shell
variable) used to export every run, and a run given with a date range, workflow or actor was exported
whatever they said. Both are refused before anything is recorded or written."""

from __future__ import annotations

from datetime import date

import pytest

from audit.exports import ExportError, ExportScope, export_stream
from audit.models import LedgerEntry


@pytest.mark.parametrize("run", ["", "   "])
def test_an_empty_run_id_is_refused_not_read_as_all_runs(letter_run, run):
    letter_run()
    exports = LedgerEntry.objects.filter(kind="export").count()
    with pytest.raises(ExportError) as refused:
        export_stream(scope=ExportScope(run=run), fmt="csv", actor="casey")
    assert str(refused.value) == ("the run to export is empty: give a thread id as shown in the Run column of the "
                                  "decision log, or of the entries on the audit page, or leave the run out "
                                  "to export by date range, workflow or actor")
    assert LedgerEntry.objects.filter(kind="export").count() == exports


@pytest.mark.parametrize("filters", [{"since": date(2099, 1, 1)}, {"until": date(2000, 1, 1)},
                                     {"workflow": "some_other_workflow"}, {"actor": "nobody"}])
def test_a_run_with_filters_is_refused_not_exported_regardless(letter_run, filters):
    run = letter_run()
    exports = LedgerEntry.objects.filter(kind="export").count()
    with pytest.raises(ExportError) as refused:
        export_stream(scope=ExportScope(run=run.thread_id, **filters), fmt="csv", actor="casey")
    assert str(refused.value) == ("a run is exported whole, so it takes no date range, workflow or actor: clear "
                                  "them to export the run, or clear the run to export by them")
    assert LedgerEntry.objects.filter(kind="export").count() == exports


def test_the_command_refuses_an_empty_run_and_writes_nothing(letter_run, audit_cli, exporter, tmp_path):
    letter_run()
    target = tmp_path / "export.jsonl"
    made = audit_cli("export", "--run", "", "--format", "jsonl", "-o", str(target), "--as", "casey")
    assert made.returncode != 0
    assert "the run to export is empty" in made.stderr
    assert not target.exists()
