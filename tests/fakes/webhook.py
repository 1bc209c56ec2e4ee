"""A webhook receiver over real loopback HTTP, scripted per test.

    with WebhookReceiver() as hook:
        hook.answer(503, 503)        # the next two POSTs get 503, later ones 204
        hook.answer((429, {"Retry-After": "120"}))  # a status with response headers
        ...                          # point the webhook URL at hook.url
        hook.bodies                  # every JSON body received, in order
        hook.requests[0].headers     # with its headers

`hold()` makes the next POST (only that one) wait, recorded first, until `release()`: a receiver
slow to answer a sender, while a test looks at what else happens meanwhile.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakes.served import Served


@dataclass
class Received:
    headers: dict[str, str]
    body: dict[str, Any]


class WebhookReceiver(Served):
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.bodies: list[dict[str, Any]] = []  # every JSON body received, in order
        self._answers: list[tuple[int, dict[str, str]]] = []
        self._hold_next = False
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with receiver._lock:
                    receiver.requests.append(Received(dict(self.headers.items()), body))
                    receiver.bodies.append(body)
                    status, headers = receiver._answers.pop(0) if receiver._answers else (204, {})
                    held, receiver._hold_next = receiver._hold_next, False
                if held:
                    receiver._released.wait(timeout=30)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{http.server_port}/hook"
        super().__init__(http)

    def answer(self, *statuses: int | tuple[int, dict[str, str]]) -> None:
        """Answer the next POSTs with these statuses (or (status, headers)), in order; 204 after them."""
        with self._lock:
            self._answers.extend(s if isinstance(s, tuple) else (s, {}) for s in statuses)

    def hold(self) -> None:
        with self._lock:
            self._hold_next = True
            self._released.clear()
