"""RQ jobs. They carry a run id only: everything else is read from Postgres."""

from __future__ import annotations

import os
import socket

from django.db import close_old_connections

from orchestrator.executor import run_advance


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def advance_run(run_id: int) -> str:
    # A long-lived worker's connection may have been closed by the server meanwhile.
    close_old_connections()
    try:
        return run_advance(run_id, worker=worker_name())
    finally:
        close_old_connections()
