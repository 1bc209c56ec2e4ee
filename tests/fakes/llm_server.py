"""A fake OpenAI + Anthropic HTTP server for tests.

It speaks just enough of both wire protocols for the official SDKs: OpenAI `POST /v1/chat/completions`
(JSON or SSE with an optional usage chunk) and Anthropic `POST /v1/messages` (JSON or SSE events).
Behaviour is scripted per test through attributes (`reply_text`, `usage`, `rate_limit_next`,
`fail_next`, `cut_stream_after`, `delay`, ...) and every request is recorded in `requests`.

    with FakeLLMServer() as server:
        server.reply_text = "hello"
        ...  # point OPENAI_BASE_URL at server.openai_base_url
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API_KEY = "test-key"


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Usage:
    input_tokens: int = 11
    output_tokens: int = 0  # 0 → count the words of the reply
    cached_tokens: int = 0


@dataclass
class Script:
    """What the server does next; tests change fields on `server.script` (or `server.<field>`)."""

    reply_text: str = "Hello from the fake provider. It speaks both protocols."
    usage: Usage = field(default_factory=Usage)
    rate_limit_next: int = 0  # answer the next N requests with 429
    fail_next: int = 0  # answer the next N requests with `fail_status`
    fail_status: int = 500
    cut_stream_after: int | None = None  # send K text chunks, then drop the connection
    delay: float = 0.0  # seconds before the response starts (timeout tests)
    chunk_delay: float = 0.0  # seconds between stream chunks
    finish_reason: str = "stop"
    # Set to an Event to hold every reply until the test sets it: the call is then in flight for as
    # long as the test needs (to cancel its run, say), without guessing at a delay.
    release: threading.Event | None = None


def _words(text: str) -> list[str]:
    # Split keeping the spaces, so joining the chunks gives back the exact text.
    return re.findall(r"\S+\s*|\s+", text) or [""]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep pytest output clean

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {"_raw": raw.decode(errors="replace")}
        fake = self.server.fake
        fake._record(
            RecordedRequest("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        )
        flavour = "anthropic" if self.path.rstrip("/").endswith("/messages") else "openai"
        if not self.path.rstrip("/").endswith(("/chat/completions", "/messages")):
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})
            return
        if not self._authorised(flavour):
            self._error(flavour, 401, "authentication_error", "invalid x-api-key / bearer token")
            return

        script = fake.script
        with fake._lock:
            rate_limited = script.rate_limit_next > 0
            if rate_limited:
                script.rate_limit_next -= 1
            failing = not rate_limited and script.fail_next > 0
            if failing:
                script.fail_next -= 1
        if script.delay:
            time.sleep(script.delay)
        if script.release is not None:
            script.release.wait(timeout=120)
        if rate_limited:
            self._error(flavour, 429, "rate_limit_error", "Rate limit reached for requests", retry_after="1")
            return
        if failing:
            self._error(
                flavour, script.fail_status, "api_error", "The server had an error processing your request"
            )
            return

        stream = bool(body.get("stream"))
        if flavour == "openai":
            self._openai_stream(body, script) if stream else self._openai_json(body, script)
        else:
            self._anthropic_stream(body, script) if stream else self._anthropic_json(body, script)

    # -- helpers -------------------------------------------------------------------------------

    def _authorised(self, flavour: str) -> bool:
        expected = self.server.fake.api_key
        if expected is None:
            return True
        if self.headers.get("authorization") == f"Bearer {expected}":
            return True
        # Older Anthropic SDKs send x-api-key; newer ones a bearer token like OpenAI.
        return flavour == "anthropic" and self.headers.get("x-api-key") == expected

    def _json(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(
        self, flavour: str, status: int, kind: str, message: str, retry_after: str | None = None
    ) -> None:
        headers: dict[str, str] = {}
        if retry_after:
            headers["retry-after"] = retry_after
        if flavour == "openai":
            if status == 429:
                headers |= {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1s"}
            code = {429: "rate_limit_exceeded", 401: "invalid_api_key"}.get(status)
            payload = {"error": {"message": message, "type": kind, "param": None, "code": code}}
        else:
            if status == 429:
                headers |= {"anthropic-ratelimit-requests-remaining": "0"}
            payload = {"type": "error", "error": {"type": kind, "message": message}}
        self._json(status, payload, headers)

    def _output_tokens(self, script: Script) -> int:
        return script.usage.output_tokens or len(script.reply_text.split())

    def _start_sse(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()

    def _send_chunk(self, data: str) -> None:
        encoded = data.encode()
        self.wfile.write(f"{len(encoded):x}\r\n".encode() + encoded + b"\r\n")
        self.wfile.flush()

    def _end_sse(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _cut(self) -> None:
        """Drop the connection mid-body: no terminating chunk, as when a proxy or the provider dies."""
        self.wfile.flush()
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True

    def _stream_words(self, script: Script, emit: Callable[[str], None]) -> bool:
        """Send the reply word by word; False when the script cut the stream."""
        for index, word in enumerate(_words(script.reply_text)):
            if script.cut_stream_after is not None and index >= script.cut_stream_after:
                self._cut()
                return False
            if script.chunk_delay:
                time.sleep(script.chunk_delay)
            emit(word)
        if script.cut_stream_after is not None:
            # Asked to cut after at least as many chunks as there are: cut before the usage.
            self._cut()
            return False
        return True

    # -- OpenAI ----------------------------------------------------------------------------------

    def _openai_usage(self, script: Script) -> dict:
        out = self._output_tokens(script)
        return {
            "prompt_tokens": script.usage.input_tokens,
            "completion_tokens": out,
            "total_tokens": script.usage.input_tokens + out,
            "prompt_tokens_details": {"cached_tokens": script.usage.cached_tokens, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        }

    def _openai_json(self, body: dict, script: Script) -> None:
        self._json(
            200,
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", ""),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": script.reply_text, "refusal": None},
                        "logprobs": None,
                        "finish_reason": script.finish_reason,
                    }
                ],
                "usage": self._openai_usage(script),
            },
        )

    def _openai_stream(self, body: dict, script: Script) -> None:
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        base = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body.get("model", ""),
        }

        def chunk(delta: dict, finish: str | None = None) -> None:
            payload = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            if include_usage:
                payload["usage"] = None
            self._send_chunk(f"data: {json.dumps(payload)}\n\n")

        self._start_sse()
        chunk({"role": "assistant", "content": ""})
        if not self._stream_words(script, lambda word: chunk({"content": word})):
            return
        chunk({}, script.finish_reason)
        if include_usage:
            payload = {**base, "choices": [], "usage": self._openai_usage(script)}
            self._send_chunk(f"data: {json.dumps(payload)}\n\n")
        self._send_chunk("data: [DONE]\n\n")
        self._end_sse()

    # -- Anthropic -------------------------------------------------------------------------------

    def _anthropic_usage(self, script: Script, output_tokens: int) -> dict:
        # Anthropic reports cache reads apart from input_tokens; the fake's `input_tokens` is the total.
        return {
            "input_tokens": script.usage.input_tokens - script.usage.cached_tokens,
            "output_tokens": output_tokens,
            "cache_read_input_tokens": script.usage.cached_tokens,
            "cache_creation_input_tokens": 0,
        }

    def _anthropic_message(
        self, body: dict, script: Script, text: str | None, stop: str | None, out: int
    ) -> dict:
        return {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", ""),
            "content": [] if text is None else [{"type": "text", "text": text}],
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": self._anthropic_usage(script, out),
        }

    def _anthropic_stop(self, script: Script) -> str:
        return {"stop": "end_turn", "length": "max_tokens"}.get(script.finish_reason, script.finish_reason)

    def _anthropic_json(self, body: dict, script: Script) -> None:
        message = self._anthropic_message(
            body, script, script.reply_text, self._anthropic_stop(script), self._output_tokens(script)
        )
        self._json(200, message)

    def _anthropic_stream(self, body: dict, script: Script) -> None:
        def event(name: str, payload: dict) -> None:
            self._send_chunk(f"event: {name}\ndata: {json.dumps({'type': name, **payload})}\n\n")

        self._start_sse()
        event("message_start", {"message": self._anthropic_message(body, script, None, None, 1)})
        event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})
        event("ping", {})

        def emit(word: str) -> None:
            event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": word}})

        if not self._stream_words(script, emit):
            return
        event("content_block_stop", {"index": 0})
        event(
            "message_delta",
            {
                "delta": {"stop_reason": self._anthropic_stop(script), "stop_sequence": None},
                "usage": {"output_tokens": self._output_tokens(script)},
            },
        )
        event("message_stop", {})
        self._end_sse()


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a handler sleeping for a timeout test must not block shutdown
    fake: FakeLLMServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that time out or are cut off leave broken pipes behind: expected here


class FakeLLMServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, api_key: str | None = API_KEY) -> None:
        self.api_key = api_key
        self.script = Script()
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._httpd = _Server((host, port), _Handler)
        self._httpd.fake = self
        self._thread: threading.Thread | None = None

    # Let tests write `server.rate_limit_next = 2` instead of `server.script.rate_limit_next = 2`.
    def __getattr__(self, name: str) -> Any:
        if name in Script.__dataclass_fields__:
            return getattr(self.__dict__["script"], name)
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in Script.__dataclass_fields__:
            setattr(self.script, name, value)
        else:
            super().__setattr__(name, value)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.url  # the Anthropic SDK appends /v1/messages itself

    @property
    def last_request(self) -> RecordedRequest:
        with self._lock:
            return self.requests[-1]

    def set_usage(self, input_tokens: int = 11, output_tokens: int = 0, cached_tokens: int = 0) -> None:
        self.script.usage = Usage(input_tokens, output_tokens, cached_tokens)

    def reset(self) -> None:
        with self._lock:
            self.script = Script()
            self.requests.clear()

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def start(self) -> FakeLLMServer:
        # A short poll keeps shutdown (once per test) from costing the default half second.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-llm", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
