"""Run the whole product in one terminal: `python -m config.supervisor` (what `make run` ends with).

Starts, each in its own process group:
  web         gunicorn serving config.wsgi on 127.0.0.1:$PORT (whitenoise serves static files)
  worker-1/2  `manage.py rqworker default` (the first one also runs RQ's scheduler)
  reconciler  `manage.py reconcile --loop`, when that command exists
  sealer      `manage.py audit seal --loop` (ledger seals), when that command exists

Ctrl-C / SIGTERM stops every child: SIGTERM to each leader (gunicorn and RQ shut down warmly),
then SIGKILL to whatever is left in its group after a grace period. A worker or the reconciler
that dies on its own is restarted with a backoff; if the web server dies, everything stops.
This is a development convenience: in production run the same commands under systemd, Kubernetes
or a PaaS process model, N web processes and M worker hosts (see README "Scaling out").
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from config.env import env_int

BASE_DIR = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
STOP_GRACE_SECONDS = 10
READY_TIMEOUT_SECONDS = 60


@dataclass
class Child:
    name: str
    argv: list[str]
    essential: bool  # if it dies on its own, stop everything instead of restarting it
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    crashes: int = 0
    restart_at: float | None = field(default=None)


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM if the supervisor itself is killed (-9) — Linux only."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _start(child: Child) -> None:
    child.process = subprocess.Popen(
        child.argv, cwd=BASE_DIR, start_new_session=True, preexec_fn=_die_with_parent
    )
    child.started_at = time.monotonic()
    child.restart_at = None


def _port_busy(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Same option gunicorn uses, so a socket left in TIME_WAIT by the last run is not "busy".
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def _wait_until_listening(web: Child, port: int, stopping: list[int]) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if stopping or web.process is None or web.process.poll() is not None:
            return False
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
            return True
        time.sleep(0.2)
    return False


def _stop_all(children: list[Child]) -> None:
    """1. SIGTERM each leader; 2. wait up to the grace period; 3. SIGKILL each whole group."""
    running = [c for c in children if c.process is not None and c.process.poll() is None]
    for child in running:
        with contextlib.suppress(ProcessLookupError):
            child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in running:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
    for child in children:
        if child.process is None:
            continue
        # Also reaps what a leader left behind (an RQ work-horse, a gunicorn worker).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.process.pid, signal.SIGKILL)
        if child.process.poll() is None:
            child.process.wait()


def _children(port: int) -> list[Child]:
    import django
    from django.core.management import get_commands

    django.setup()
    python, manage = sys.executable, str(BASE_DIR / "manage.py")
    web_workers = env_int("WEB_CONCURRENCY", 2, minimum=1)
    rq_workers = env_int("GATEHOUSE_RQ_WORKERS", 2, minimum=0)
    # fmt: off
    web_argv = [
        python, "-m", "gunicorn", "config.wsgi",
        "--bind", f"{HOST}:{port}",
        "--workers", str(web_workers),
        "--timeout", "60",
        "--graceful-timeout", str(STOP_GRACE_SECONDS - 2),
        "--no-control-socket",  # recent gunicorn opens ~/.gunicorn/gunicorn.ctl: shared by every checkout
    ]
    # fmt: on
    children = [Child("web", web_argv, essential=True)]
    for n in range(1, rq_workers + 1):
        # No --name: RQ picks a unique one, and a restarted worker must not reuse its predecessor's.
        argv = [python, manage, "rqworker", "default"]
        children.append(
            Child(f"worker-{n}", argv + (["--with-scheduler"] if n == 1 else []), essential=False)
        )
    if "reconcile" in get_commands():
        children.append(Child("reconciler", [python, manage, "reconcile", "--loop"], essential=False))
    children += [Child("sealer", [python, manage, "audit", "seal", "--loop"], essential=False)] if "audit" in get_commands() else []
    return children


def _banner(port: int, children: list[Child]) -> str:
    from django.conf import settings

    from config.env import env_str
    from orchestrator.demo_accounts import DEMO_USERS, demo_passwords_read

    shared = env_str("GATEHOUSE_DEMO_PASSWORD")
    passwords = demo_passwords_read(data_dir=settings.DATA_DIR)
    lines = [
        "",
        f"  Gatehouse is running at http://{HOST}:{port}/",
        f"  processes: {', '.join(c.name for c in children)}  (Ctrl-C stops them all)",
        "",
        "  Demo logins:",
    ]
    for username, (role, _name) in DEMO_USERS.items():
        password = (
            "(GATEHOUSE_DEMO_PASSWORD)" if shared else passwords.get(username, "(run manage.py demo_users)")
        )
        lines.append(f"    {username:<11} {password:<26} {role}")
    return "\n".join(lines) + "\n"


def _restart_delay(child: Child) -> float:
    # A child that ran for a minute was healthy: start its backoff again from one second.
    if time.monotonic() - child.started_at > 60:
        child.crashes = 0
    child.crashes += 1
    return float(min(30, 2 ** (child.crashes - 1)))


def supervise(children: list[Child], port: int) -> int:
    stopping: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: stopping.append(signum))
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))

    for child in children:
        _start(child)
    if not _wait_until_listening(children[0], port, stopping):
        if stopping:
            _stop_all(children)
            return 0
        print(
            f"gatehouse: the web server did not start listening on {HOST}:{port}; see the errors above.",
            file=sys.stderr,
        )
        _stop_all(children)
        return 1
    print(_banner(port, children), flush=True)

    parent = os.getppid()
    while not stopping:
        time.sleep(0.3)
        if os.getppid() != parent:
            # Whoever started us (make run) is gone — stopped by a SIGTERM that only reached it (a
            # service manager, `timeout`): stop too, rather than keep serving as an orphan.
            print("gatehouse: the process that started me has exited.", file=sys.stderr, flush=True)
            stopping.append(signal.SIGHUP)
            break
        now = time.monotonic()
        for child in children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    print(f"gatehouse: restarting {child.name}", flush=True)
                    _start(child)
                continue
            code = child.process.poll()
            if code is None or stopping:
                continue
            if child.essential:
                print(
                    f"gatehouse: {child.name} exited unexpectedly (code {code}); stopping everything.",
                    file=sys.stderr,
                    flush=True,
                )
                _stop_all(children)
                return 1
            delay = _restart_delay(child)
            print(
                f"gatehouse: {child.name} exited unexpectedly (code {code}); restarting it in {delay:.0f}s.",
                file=sys.stderr,
                flush=True,
            )
            child.restart_at = now + delay

    print("\ngatehouse: stopping…", flush=True)
    _stop_all(children)
    print("gatehouse: stopped.", flush=True)
    return 0


def main() -> int:
    from django.core.exceptions import ImproperlyConfigured

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    try:
        port = env_int("PORT", 8000, minimum=1)
        if _port_busy(HOST, port):
            print(
                f"gatehouse: port {port} on {HOST} is already in use; stop whatever is using it "
                f"or choose another port: PORT={port + 1} make run",
                file=sys.stderr,
            )
            return 1
        children = _children(port)
    except ImproperlyConfigured as exc:
        print(f"gatehouse: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return supervise(children, port)


if __name__ == "__main__":
    sys.exit(main())
