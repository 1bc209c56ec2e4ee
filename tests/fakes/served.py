"""What the scripted loopback servers (`tests.fakes.mail.SMTPServer`, `tests.fakes.webhook.WebhookReceiver`)
share: served on a daemon thread for a `with` block, and `release()` for the answers their handlers hold."""

from __future__ import annotations

import socketserver
import threading
from typing import Self


class Served:
    """Serves `server` on a daemon thread from `__enter__` to `__exit__`. A handler that holds its answer
    waits on `_released` until `release()`; leaving the `with` block releases it first, so no handler is
    left waiting on a server that is gone."""

    def __init__(self, server: socketserver.BaseServer) -> None:
        self._server = server
        self._released = threading.Event()
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)

    def release(self) -> None:
        """Let the held answers go."""
        self._released.set()

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
