"""Per-request bookkeeping: the request id, one log line per request."""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, g, request

from shared.logs import request_id_var

log = logging.getLogger("nestlab.api.requests")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _start() -> None:
    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex
    g.started = time.perf_counter()
    request_id_var.set(g.request_id)


def _finish(response):
    response.headers["X-Request-ID"] = g.get("request_id", "")
    duration = time.perf_counter() - g.get("started", time.perf_counter())
    log.info("%s %s %s %.1fms", request.method, request.path, response.status_code,
             duration * 1000)
    return response


def init_app(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)
