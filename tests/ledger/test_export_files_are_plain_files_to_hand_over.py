"""`audit export -o FILE` makes a file to hand over and says so plainly: the file gets the permissions any
new file gets (0666 less the umask; it was always 0600), the "wrote FILE" line stays on stderr (stdout
may be the data, with `-o -`) but is not styled as an error (it was bold red on a terminal), and a PDF
says it is building the document after its progress bar reaches 100%, instead of falling silent."""

from __future__ import annotations

import os
import pty
import re
import stat
import subprocess
import sys

import pytest

from tests.workers import ROOT

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _on_a_terminal(audit_cli, *args: str) -> tuple[int, list[str]]:
    """Run `audit ARGS` with stdout and stderr on a terminal, as an operator does (Django styles output
    only there): the exit status and the lines the terminal showed, escapes included."""
    controller, terminal = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "manage.py", "audit", *args], cwd=ROOT, env=audit_cli.env,
                                stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal)
    finally:
        os.close(terminal)
    shown = b""
    while True:
        try:
            data = os.read(controller, 4096)
        except OSError:  # EIO: the command closed the terminal's last writer
            break
        if not data:
            break
        shown += data
    os.close(controller)
    return proc.wait(timeout=60), shown.decode().replace("\r", "\n").split("\n")


def test_the_written_line_is_not_styled_as_an_error_on_a_terminal(letter_run, audit_cli, exporter, tmp_path):
    run = letter_run()
    target = tmp_path / "run.csv"
    status, lines = _on_a_terminal(audit_cli, "export", "--run", run.thread_id, "--format", "csv",
                                   "-o", str(target), "--as", exporter.username)
    assert status == 0, lines
    (wrote,) = [line for line in lines if "wrote" in line]
    assert wrote == f"wrote {target}: 1 run, {target.stat().st_size:,} bytes"

    # The same terminal shows a refusal styled as one: the check above would have seen the style.
    status, lines = _on_a_terminal(audit_cli, "export", "--run", "no-such-run", "-o", str(target),
                                   "--as", exporter.username)
    (refused,) = [line for line in lines if "no run with thread id" in line]
    assert status == 1 and ANSI.search(refused), lines


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_an_export_file_gets_the_permissions_of_any_new_file(letter_run, audit_cli, exporter, tmp_path, umask,
                                                               mode):
    run = letter_run()
    target = tmp_path / "run.jsonl"
    made = audit_cli("export", "--run", run.thread_id, "-o", str(target), "--as", exporter.username, umask=umask)
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(target.stat().st_mode) == mode


def test_a_pdf_says_it_is_building_the_document_after_reading_the_runs(letter_run, audit_cli, exporter, tmp_path):
    run = letter_run()
    target = tmp_path / "run.pdf"
    made = audit_cli("export", "--run", run.thread_id, "--format", "pdf", "-o", str(target), "--progress",
                     "--as", exporter.username)
    assert made.returncode == 0, made.stderr
    *_, bar, building, wrote = made.stderr.split("\n")[:-1]
    assert bar.endswith("100% 1/1")
    assert building == "export pdf: building the PDF…"
    assert wrote == f"wrote {target}: 1 run, {target.stat().st_size:,} bytes"
