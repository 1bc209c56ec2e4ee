"""RQ jobs. They carry a run id only: everything else is read from Postgres."""

from __future__ import annotations

import os
import socket

from orchestrator.executor import run_advance


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def advance_run(run_id: int) -> str:
    return run_advance(run_id, worker=worker_name())
