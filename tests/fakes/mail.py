"""Mail stand-ins: a backend for worker processes, an SMTP server that never answers, and one that does.

`FailsOnceBackend` is a Django EMAIL_BACKEND a worker process loads by name
(`EMAIL_BACKEND=tests.fakes.mail.FailsOnceBackend`, `GATEHOUSE_TEST_MAIL_DIR=<dir>`): the first
delivery of each X-Idempotency-Key (the workflows' e-mails; notifications carry none) fails as an
SMTP server dropping the connection would, later ones are delivered, each as one JSON file in the
directory (so the test process reads what every process delivered). `delivered(dir)` reads them back.

`SilentSMTPServer` accepts TCP connections and never sends the SMTP greeting, as a mail server
that hangs does; `with SilentSMTPServer() as server:` then point EMAIL_HOST/EMAIL_PORT at it.

`SMTPServer` speaks enough SMTP for Django's backend and keeps every message whose end of data it
read (`server.messages`, parsed; `server.accepted`: those it answered 250). `server.answer("451", "drop")` scripts the next messages' fate: a
451 reply (the server says "not now": not accepted), or the connection closed after the data arrived
without a reply (lost mid-message: the client cannot know it arrived), or "hold": no reply to the data
until `server.release()` (then 250), so the client waits mid-message for as long as the test likes
(and a sender killed meanwhile never learns). Unscripted messages get 250.
`free_port()` is a port nothing listens on: a mail server that is down.
"""

from __future__ import annotations

import contextlib
import email
import hashlib
import json
import os
import smtplib
import socket
import socketserver
import threading
import uuid
from email.message import Message
from pathlib import Path
from typing import Any

from django.core.mail.backends.base import BaseEmailBackend

from tests.fakes.served import Served

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


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


class SMTPServer(Served):
    def __init__(self) -> None:
        self.messages: list[Message] = []  # every message whose data arrived, whatever the reply
        self.accepted: list[Message] = []
        self._fates: list[str] = []
        self._lock = threading.Lock()
        server = self

        class Session(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(f"{line}\r\n".encode())

            def handle(self) -> None:
                self.reply("220 test SMTP ready")
                while line := self.rfile.readline():
                    verb = line.decode(errors="replace").strip().split(" ", 1)[0].upper()
                    if verb == "QUIT":
                        self.reply("221 bye")
                        return
                    if verb != "DATA":
                        self.reply("250 ok")  # EHLO, MAIL, RCPT, RSET, NOOP
                        continue
                    self.reply("354 go ahead")
                    lines = []
                    while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                        lines.append(chunk)
                    data = b"".join(lines)
                    message = email.message_from_bytes(data.replace(b"\r\n..", b"\r\n."))
                    with server._lock:
                        server.messages.append(message)
                        fate = server._fates.pop(0) if server._fates else "250"
                    if fate == "drop":
                        return  # the connection closes with no reply to the data
                    if fate == "hold":
                        server._released.wait(timeout=60)
                        fate = "250"
                    if fate == "250":
                        with server._lock:
                            server.accepted.append(message)
                    try:
                        self.reply(f"{fate} {'ok' if fate == '250' else 'try again later'}")
                    except OSError:  # a held client that was killed meanwhile
                        return

        tcp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Session)
        tcp.daemon_threads = True
        self.port = tcp.server_address[1]
        super().__init__(tcp)  # release(): the held messages are answered 250 at last

    def answer(self, *fates: str) -> None:
        with self._lock:
            self._fates.extend(fates)
