"""A command whose reader stops reading (`runs list | head -1`) ends quietly with exit 141, as a Unix tool
ended by SIGPIPE does: no BrokenPipeError traceback, whether its output was written line by line or
buffered (then the last of it meets the closed pipe only in the interpreter's final flush). `runs show ID |
head -6` printed a traceback.

Each command runs in its own interpreter with its standard output a pipe shrunk to one page; the test reads
the first line and closes its end, so the command still has more to write than the pipe holds."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys

import pytest

from orchestrator.cli import CLOSED_PIPE_EXIT
from orchestrator.models import Run
from tests.workers import ROOT

PAGE = 4096  # the smallest a pipe can be
RUNS = 150  # a `runs list` line of each, ~185 bytes: about six times the pipe and Python's buffer together
BUFFERED = 8192  # what Python keeps of a buffered standard output before writing it


def _first_line_then_close(env: dict[str, str], *args: str) -> tuple[bytes, int, str]:
    """Run `manage.py *args`, read its first line, close the pipe: (that line, exit status, stderr)."""
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, PAGE)
    proc = subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=env, stdout=write_end,
                            stderr=subprocess.PIPE)
    os.close(write_end)
    first = b""
    while not first.endswith(b"\n"):  # a byte at a time: nothing past the first line is taken off the pipe
        byte = os.read(read_end, 1)
        if not byte:
            break
        first += byte
    os.close(read_end)
    _, err = proc.communicate(timeout=120)
    return first, proc.returncode, err.decode()


@pytest.fixture(params=["line by line", "buffered"])
def env(request, manage_cli) -> dict[str, str]:
    unbuffered = "1" if request.param == "line by line" else ""  # an empty PYTHONUNBUFFERED is unset
    return {**manage_cli.env, "PYTHONUNBUFFERED": unbuffered}


def _runs(count: int) -> None:
    Run.objects.bulk_create(Run(thread_id=f"closed-pipe-{i:03}-" + "x" * 140, workflow="ledger_letter",
                                graph_version="1") for i in range(count))


def test_runs_list_into_a_reader_that_stops(env, transactional_db):
    _runs(RUNS)

    first, status, err = _first_line_then_close(env, "runs", "list", "--limit", str(RUNS))

    assert first.split() == [b"thread", b"id", b"workflow", b"status", b"step"]
    assert (status, err) == (CLOSED_PIPE_EXIT, "")


def test_output_left_for_the_last_flush_meets_the_closed_pipe_quietly(manage_cli, transactional_db):
    # More than the pipe holds, less than Python's buffer: all of it is written at once, after the command's
    # last line, where an uncaught BrokenPipeError is "Exception ignored … BrokenPipeError" and exit 120.
    _runs(30)
    listed = manage_cli("runs", "list", "--limit", "30").stdout.encode()
    assert PAGE < len(listed) < BUFFERED

    first, status, err = _first_line_then_close({**manage_cli.env, "PYTHONUNBUFFERED": ""}, "runs", "list",
                                                "--limit", "30")

    assert first == listed.splitlines(keepends=True)[0]
    assert (status, err) == (CLOSED_PIPE_EXIT, "")


def test_runs_show_into_a_reader_that_stops(env, letter_run):
    # Its labels make one line longer than the pipe: the lines after it meet the closed pipe.
    run = letter_run(labels={f"label-{i:03}": "v" * 100 for i in range(RUNS)})

    first, status, err = _first_line_then_close(env, "runs", "show", run.thread_id)

    assert first.split() == [b"thread_id:", run.thread_id.encode()]
    assert (status, err) == (CLOSED_PIPE_EXIT, "")


def test_an_export_to_standard_output_into_a_reader_that_stops(env, letter_run, exporter):
    # The export writes bytes to stdout itself (not through the command's text stream).
    for _ in range(12):
        letter_run()

    first, status, err = _first_line_then_close(env, "audit", "export", "--format", "jsonl", "-o", "-",
                                                "--as", exporter.username)

    assert first.startswith(b"{")
    assert (status, err) == (CLOSED_PIPE_EXIT, "")
