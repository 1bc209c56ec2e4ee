"""Real worker processes for tests: RQ workers and CLI commands against the test database.

    def test_it_survives(worker_env, start_worker, wait_for):
        worker = start_worker()              # `manage.py rqworker default` in its own process group
        ...
        worker.kill()                        # SIGKILL the worker and its work horse

Each pytest-xdist process uses its own Redis database number, so one test's jobs are never
picked up by another process's workers; it is flushed before every test that asks for it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
POLL_SECONDS = 0.05  # how often wait_for re-checks its condition


def _redis_db_index() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw-1")
    return int(worker.removeprefix("gw")) + 2 if worker != "gw-1" else 1


def _with_db(url: str, index: int) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{index}", parts.query, parts.fragment))


@pytest.fixture(autouse=True, scope="session")
def _isolated_redis(django_test_environment) -> Iterator[str]:
    from django.conf import settings

    url = _with_db(settings.REDIS_URL, _redis_db_index())
    settings.REDIS_URL = url
    settings.RQ_QUEUES["default"]["URL"] = url
    yield url


@pytest.fixture
def redis_conn(_isolated_redis):
    import redis

    conn = redis.Redis.from_url(_isolated_redis)
    conn.flushdb()
    yield conn
    conn.close()


def database_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    host = s["HOST"] or s.get("OPTIONS", {}).get("host") or "localhost"
    port = s["PORT"] or s.get("OPTIONS", {}).get("port") or 5432
    auth = quote(s["USER"] or "", safe="") + (":" + quote(s["PASSWORD"], safe="") if s["PASSWORD"] else "")
    # A unix-socket directory goes percent-encoded in the host part, which dj-database-url reads back.
    return f"postgresql://{auth}@{quote(host, safe='')}:{port}/{s['NAME']}"


@pytest.fixture
def worker_env(transactional_db, redis_conn, _isolated_redis) -> dict[str, str]:
    """Environment for child processes: the test database, this process's Redis db, short leases."""
    from django.conf import settings

    env = dict(os.environ)
    env.update({
        "DATABASE_URL": database_url(),
        "REDIS_URL": _isolated_redis,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": os.environ.get("DEBUG", "1"),  # a DATABASE_URL alone would mean a deployment (debug off)
        "GATEHOUSE_LEASE_SECONDS": "2",
        "GATEHOUSE_WORKFLOWS": ",".join(settings.GATEHOUSE_WORKFLOWS),
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
    })
    return env


def _descendants(pid: int) -> list[int]:
    """Every live process below `pid`, read from /proc (children first found, grandchildren after)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The command name in field 2 may hold spaces and parentheses: ppid follows the last ')'.
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@dataclass
class Proc:
    popen: subprocess.Popen
    log: Path

    def kill(self) -> None:
        """SIGKILL the RQ worker and every process under it, as a machine that loses power would.

        The work horse that runs the job puts itself in its own process group (RQ calls setpgrp), so
        killing the worker's group alone would leave the job running and finishing the run."""
        if self.popen.poll() is None:
            tree = _descendants(self.popen.pid)
            os.killpg(self.popen.pid, signal.SIGKILL)
            for pid in tree:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.popen.wait(timeout=10)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Marked from the fixture, not by hand: `-m "not slow"` leaves out every test that starts a worker.
    for item in items:
        if "start_worker" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def start_worker(worker_env, tmp_path) -> Iterator[Callable[..., Proc]]:
    procs: list[Proc] = []

    def start(*, burst: bool = False, env: dict[str, str] | None = None) -> Proc:
        log = tmp_path / f"worker-{len(procs)}.log"
        args = [sys.executable, "manage.py", "rqworker", "default", "--worker-ttl", "30"]
        if burst:
            args.append("--burst")
        handle = open(log, "wb")  # noqa: SIM115 - closed by the OS when the child exits
        popen = subprocess.Popen(args, cwd=ROOT, env={**worker_env, **(env or {})}, stdout=handle,
                                 stderr=subprocess.STDOUT, start_new_session=True)
        proc = Proc(popen, log)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.kill()


@pytest.fixture
def manage(worker_env) -> Callable[..., subprocess.CompletedProcess]:
    """Run `manage.py ARGS` in a fresh interpreter against the test database."""

    def run(*args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=worker_env,
                                capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"manage.py {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
        return result

    return run


@pytest.fixture
def wait_for() -> Callable[..., object]:
    """wait_for(condition, timeout=30, what="…"): poll until condition() is truthy; fail naming `what`."""

    def wait(condition: Callable[[], object], *, timeout: float = 30, what: str = "condition") -> object:
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")
            time.sleep(POLL_SECONDS)

    return wait
