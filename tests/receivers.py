"""A local HTTP receiver standing in for Slack, Teams, Discord, ...: it records every
request and answers as told (429 with Retry-After, 500, slowly, or held at a gate)."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Received:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes
    at: float

    @property
    def json(self):
        return json.loads(self.body)


@dataclass
class Answer:
    status: int = 200
    headers: dict = field(default_factory=dict)
    body: str | None = None
    delay: float = 0.0


class Receiver:
    def __init__(self):
        self.received: list[Received] = []
        self.script: deque[Answer] = deque()
        self.gate = threading.Event()
        self.gate.set()
        self._changed = threading.Condition()
        self._ids = itertools.count(1000)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                receiver._handle(self)

            do_PATCH = do_PUT = do_POST

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, *answers: Answer) -> None:
        self.script.extend(answers)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        arrived = time.monotonic()
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length)
        parts = urlsplit(handler.path)
        self.gate.wait(30)
        answer = self.script.popleft() if self.script else Answer()
        if answer.delay:
            time.sleep(answer.delay)
        text = answer.body
        if text is None:
            wants_message = handler.command == "PATCH" or "wait=true" in parts.query
            text = json.dumps({"id": str(next(self._ids))}) if wants_message else "ok"
        payload = text.encode()
        try:
            handler.send_response(answer.status)
            for name, value in answer.headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        except OSError:  # the client gave up (a time-out test)
            pass
        with self._changed:
            self.received.append(Received(handler.command, parts.path,
                                          dict(parse_qsl(parts.query)),
                                          {k.lower(): v for k, v in handler.headers.items()},
                                          body, arrived))
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = 30.0, path: str | None = None
                 ) -> list[Received]:
        def hits():
            return [r for r in self.received if path is None or r.path == path]

        with self._changed:
            if not self._changed.wait_for(lambda: len(hits()) >= count, timeout):
                raise AssertionError(f"expected {count} requests, got {len(hits())}: "
                                     f"{[(r.method, r.path) for r in hits()]}")
            return hits()

    def wait_until(self, predicate, timeout: float = 30.0) -> list[Received]:
        """Wait until predicate(all requests so far) is true; returns them."""
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(self.received), timeout):
                raise AssertionError(f"never happened; got {[r.body[:200] for r in self.received]}")
            return list(self.received)

    def close(self) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()
