"""Ctrl-C stops every long-running or looping command the same way: one line saying what the interruption
left behind, exit 130, no traceback. `reconcile --loop` printed a KeyboardInterrupt traceback, `audit seal
--loop` stopped silently, and an interrupted `audit export` printed a traceback; an export's ledger entry
is made when it starts, so its line says the attempt was recorded."""

from __future__ import annotations

import select
import signal
import subprocess
import sys

import pytest
from django.db import connection, transaction

from audit.models import LedgerEntry
from tests.workers import ROOT


def _start(manage_cli, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=manage_cli.env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _first_line(proc: subprocess.Popen, timeout: float = 60) -> str:
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, f"no output within {timeout}s"
    return proc.stdout.readline().rstrip("\n")


def _stopped(proc: subprocess.Popen, signum: int) -> tuple[int, str]:
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


def test_ctrl_c_stops_reconcile_loop_with_one_line(manage_cli):
    proc = _start(manage_cli, "reconcile", "--loop", "--every", "30")
    assert _first_line(proc) == "reconcile: a pass every 30s until SIGTERM or Ctrl-C"

    assert _stopped(proc, signal.SIGINT) == (130, "interrupted: reconcile stopped; a pass is safe to interrupt, "
                                                  "the next one enqueues what this one did not\n")


def test_ctrl_c_stops_the_sealer_with_one_line_and_sigterm_quietly(manage_cli):
    interrupted = _start(manage_cli, "audit", "seal", "--loop", "--every", "30")
    assert _first_line(interrupted) == "sealing every 30s until SIGTERM or Ctrl-C"
    assert _stopped(interrupted, signal.SIGINT) == (
        130, "interrupted: sealing stopped after the seal in progress; every seal made is kept\n")

    # A supervisor stopping it is no interruption: it ends as it always did.
    terminated = _start(manage_cli, "audit", "seal", "--loop", "--every", "30")
    assert _first_line(terminated) == "sealing every 30s until SIGTERM or Ctrl-C"
    assert _stopped(terminated, signal.SIGTERM) == (0, "")


@pytest.mark.parametrize(("output", "said"), [
    ("report.pdf", "nothing was written to {target}; the attempt was recorded in the ledger (an export entry is "
                   "made when an export starts)"),
    ("-", "the export on standard output is incomplete: discard it; the attempt was recorded in the ledger (an "
          "export entry is made when an export starts)"),
])
def test_ctrl_c_stops_an_export_writing_nothing_and_says_it_was_recorded(letter_run, manage_cli, exporter,
                                                                         tmp_path, wait_for, output, said):
    run = letter_run()
    target = str(tmp_path / output) if output != "-" else "-"
    with transaction.atomic(), connection.cursor() as cursor:
        # The report's verification statement records a verification: with that table held here, the export
        # waits there, after its own ledger entry and before its first byte, until Ctrl-C.
        cursor.execute("LOCK TABLE audit_verificationrun IN ACCESS EXCLUSIVE MODE")
        proc = _start(manage_cli, "audit", "export", "--run", run.thread_id, "--format", "pdf", "-o", target,
                      "--as", exporter.username)

        def waiting_on_the_table() -> bool:
            assert proc.poll() is None, proc.communicate()
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted "
                           "AND relation = 'audit_verificationrun'::regclass")
            return bool(cursor.fetchone()[0])

        wait_for(waiting_on_the_table, timeout=60, what="the export to reach the held table")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)

    assert proc.returncode == 130 and err == f"interrupted: {said.format(target=target)}\n", err
    assert out == ""
    assert [p.name for p in tmp_path.iterdir() if p.name != "seals"] == []  # no file, no partial file
    assert LedgerEntry.objects.filter(chain="system", kind="export", actor=exporter.username).count() == 1
