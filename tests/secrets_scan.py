"""The suite-wide secrets scan: no test secret may show up in what the suite produces.

What is collected, per test: every API response body (the app's WSGI callable
is wrapped, so the Flask test client and `live_server` are both seen, streams
as far as they were read), every log line of the test process (a handler on the root
logger, behind the same masking filter the real handlers have), every stored
event, job error and delivery log, and every chat message a test receiver got.
At the end of each test the collected text is searched for the secrets and
dropped (so memory stays flat); findings are reported, and fail the run, when
the session ends.

Secrets are the fixed ones the suite uses (tests/conftest.py `TEST_SECRETS`)
plus those made during a test: API tokens and zPod passwords. Those two are
legitimately shown once, in exactly the responses `SHOWN_ONCE` names: such a
response is not scanned, its secret is learnt from it instead.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass

from flask.testing import FlaskClient

from shared.logs import ContextFilter


@dataclass(frozen=True)
class ShownOnce:
    method: str
    path: re.Pattern
    status: int
    field: str
    label: str


SHOWN_ONCE = (
    ShownOnce("POST", re.compile(r"^/api/v1/users/[^/]+/tokens$"), 201, "token", "API token"),
    ShownOnce("GET", re.compile(r"^/api/v1/zpods/[^/]+/credentials$"), 200, "password",
              "zPod password"),
)


class SecretsScan:
    def __init__(self, secrets: dict[str, str]):
        self.fixed = dict(secrets)
        self.findings: list[str] = []
        self._learnt: dict[str, str] = {}
        self._texts: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def secret(self, label: str, value: str | None) -> None:
        """A secret made during the current test."""
        if value:
            with self._lock:
                self._learnt[value] = label

    def text(self, where: str, text: str) -> None:
        with self._lock:
            self._texts.append((where, text))

    def check(self, test: str) -> None:
        """Search what the test produced for every secret, then forget it."""
        with self._lock:
            texts, self._texts = self._texts, []
            secrets = {value: label for label, value in self.fixed.items()} | self._learnt
            self._learnt = {}
        for where, text in texts:
            for value, label in secrets.items():
                if value in text:
                    self.findings.append(f"{test}: {label} in {where}: {_around(text, value)}")

    def wrap(self, wsgi_app):
        """`wsgi_app`, with every response body handed to the scan once it is sent."""
        def app(environ, start_response):
            status = []

            def start(line, headers, exc_info=None):
                status.append(int(line.split(" ", 1)[0]))
                return start_response(line, headers, exc_info)

            body = wsgi_app(environ, start)
            return _Tee(body, lambda data: self._response(environ, status, data))
        return app

    def _response(self, environ, status: list[int], data: bytes) -> None:
        method, path = environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")
        text = data.decode("utf-8", "replace")
        for once in SHOWN_ONCE:
            if status and (method, status[0]) == (once.method, once.status) \
                    and once.path.match(path):
                self.secret(once.label, json.loads(text).get(once.field))
                return
        self.text(f"the response to {method} {path}", text)


class _Tee:
    """A WSGI body that keeps a copy of what it sends, handed over once it is all sent or
    closed (the Flask test client reads bodies without closing them)."""

    def __init__(self, body, done):
        self.body, self.done, self.chunks = body, done, []

    def __iter__(self):
        for chunk in self.body:
            self.chunks.append(chunk)
            yield chunk
        self._hand_over()

    def close(self):
        try:
            if hasattr(self.body, "close"):
                self.body.close()
        finally:
            self._hand_over()

    def _hand_over(self):
        if self.done is not None:
            done, self.done = self.done, None
            done(b"".join(self.chunks))


class ReadingClient(FlaskClient):
    """The Flask test client, reading every answer but a stream at once, so that the scan sees
    the bodies of the answers a test only looks at the status of."""

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        if response.mimetype != "text/event-stream":
            response.get_data()
        return response


class LogCollector(logging.Handler):
    """Every log line of the test process, as the real handlers would write it."""

    def __init__(self, scan: SecretsScan):
        super().__init__(logging.DEBUG)
        self.scan = scan
        self.addFilter(ContextFilter())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = record.getMessage()
            if record.exc_info:
                line += "\n" + logging.Formatter().formatException(record.exc_info)
        except Exception:  # a broken log call is not this handler's business
            return
        self.scan.text(f"a log line of {record.name}", line)


def _around(text: str, value: str, width: int = 60) -> str:
    at = text.index(value)
    return repr(text[max(0, at - width):at + len(value) + width].replace(value, "<SECRET>"))
