"""A scriptable HTTP server on 127.0.0.1 that vendor SDKs talk to for real.

Each test queues the replies the server gives (JSON, server-sent events, raw byte chunks,
errors, slow answers) and reads back every request it received, so a test can check the
exact wire request an adapter sent and that a blocked message was never sent at all.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Answer:
    """One scripted reply: JSON, SSE events, raw chunks, or an empty body; optional delay."""

    status: int = 200
    json: Any = None
    sse: list[tuple[str | None, Any]] | None = None
    chunks: list[bytes] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None
    delay_s: float = 0.0
    chunk_delay_s: float = 0.0


Script = Answer | Callable[[Recorded], Answer]


def sse_event(event: str | None, data: Any) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {text}\n\n".encode()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that timed out and hung up is what some tests want; say nothing."""
        error = sys.exc_info()[1]
        if not isinstance(error, (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class FakeServer:
    """Threaded loopback server; ``queue`` replies, read ``requests`` afterwards."""

    def __init__(self, default: Callable[[Recorded], Answer] | None = None) -> None:
        self.requests: list[Recorded] = []
        self.default = default
        self._script: deque[Script] = deque()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body leave in one write, and small writes are not held back (Nagle),
            # so the loopback round trip does not stall on delayed ACKs
            wbufsize = -1

            def setup(self) -> None:
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                record = Recorded(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                answer = server._next(record)
                if answer.delay_s:
                    time.sleep(answer.delay_s)
                try:
                    self._write(answer)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def _write(self, answer: Answer) -> None:
                self.send_response(answer.status)
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                if answer.sse is not None or answer.chunks is not None:
                    if answer.sse is not None:
                        payload = [sse_event(event, data) for event, data in answer.sse]
                        content_type = answer.content_type or "text/event-stream"
                    else:
                        payload = list(answer.chunks or [])
                        content_type = answer.content_type or "application/octet-stream"
                    self.send_header("Content-Type", content_type)
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.flush()
                    for index, piece in enumerate(payload):
                        if index and answer.chunk_delay_s:
                            time.sleep(answer.chunk_delay_s)
                        self.wfile.write(piece)
                        self.wfile.flush()
                    self.close_connection = True
                    return
                data = b"" if answer.json is None else json.dumps(answer.json).encode()
                self.send_header("Content-Type", answer.content_type or "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self._httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    def _next(self, record: Recorded) -> Answer:
        with self._lock:
            self.requests.append(record)
            script = self._script.popleft() if self._script else None
        if script is None:
            if self.default is None:
                return Answer(status=500, json={"error": {"message": "no scripted answer"}})
            return self.default(record)
        return script(record) if callable(script) else script

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def queue(self, *answers: Script) -> FakeServer:
        with self._lock:
            self._script.extend(answers)
        return self

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._script.clear()

    @property
    def last(self) -> Recorded:
        return self.requests[-1]

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
