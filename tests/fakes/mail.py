"""Mail stand-ins: a backend for worker processes, and an SMTP server that never answers.

`FailsOnceBackend` is a Django EMAIL_BACKEND a worker process loads by name
(`EMAIL_BACKEND=tests.fakes.mail.FailsOnceBackend`, `GATEHOUSE_TEST_MAIL_DIR=<dir>`): the first
delivery of each X-Idempotency-Key (the workflows' e-mails; notifications carry none) fails as an
SMTP server dropping the connection would, later ones are delivered, each as one JSON file in the
directory (so the test process reads what every process delivered). `delivered(dir)` reads them back.

`SilentSMTPServer` accepts TCP connections and never sends the SMTP greeting, as a mail server
that hangs does; `with SilentSMTPServer() as server:` then point EMAIL_HOST/EMAIL_PORT at it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import smtplib
import socket
import threading
import uuid
from pathlib import Path
from typing import Any

from django.core.mail.backends.base import BaseEmailBackend

MAIL_DIR_VARIABLE = "GATEHOUSE_TEST_MAIL_DIR"


class FailsOnceBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        directory = Path(os.environ[MAIL_DIR_VARIABLE])
        for message in email_messages:
            key = message.extra_headers.get("X-Idempotency-Key")
            if key is not None:
                # Creating the marker is atomic across processes: exactly one attempt per key fails.
                marker = directory / f"failed-{hashlib.sha256(key.encode()).hexdigest()[:16]}"
                try:
                    marker.open("x").close()
                except FileExistsError:
                    pass
                else:
                    raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed (test: fails once)")
            record = {"to": message.to, "subject": message.subject, "body": message.body,
                      "headers": dict(message.extra_headers)}
            (directory / f"delivered-{uuid.uuid4().hex}.json").write_text(json.dumps(record))
        return len(email_messages)


def delivered(directory: Path) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted(directory.glob("delivered-*.json"))]


class SilentSMTPServer:
    """A listening socket whose connections are accepted and then left waiting: no greeting, ever."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.connections: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:  # closed: the test is over
                return
            self.connections.append(conn)  # kept open, so the client waits for a greeting, not an EOF

    def __enter__(self) -> SilentSMTPServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        # shutdown() wakes the thread blocked in accept(); close() alone may not.
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(timeout=5)
        for conn in self.connections:
            conn.close()
