"""Logging set-up shared by every process: one line per record, with context.

On a terminal, lines are plain text; otherwise (compose, systemd, CI) they
are JSON objects. Each record carries the request id and job id of the work
it belongs to: the API sets the request id, it travels with the task to the
worker, and the job runner sets the job id. Secrets should never reach a log
call; the filter also masks anything shaped like a nestlab API token.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys

from pythonjsonlogger.json import JsonFormatter

from shared.crypto import TOKEN_PREFIX

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None)
job_id_var: contextvars.ContextVar[int | None] = contextvars.ContextVar("job_id", default=None)

_TOKEN_RE = re.compile(re.escape(TOKEN_PREFIX) + r"[A-Za-z0-9_\-]{8,}")
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s [req=%(request_id)s job=%(job_id)s] %(message)s"


_base_record_factory = logging.getLogRecordFactory()


def _record_with_context(*args, **kwargs) -> logging.LogRecord:
    record = _base_record_factory(*args, **kwargs)
    record.request_id = request_id_var.get()
    record.job_id = job_id_var.get()
    return record


def redact(text: str) -> str:
    """`text` with anything that looks like a nestlab API token masked."""
    return _TOKEN_RE.sub(TOKEN_PREFIX + "***", text) if TOKEN_PREFIX in text else text


class ContextFilter(logging.Filter):
    """Masks anything shaped like an API token."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if TOKEN_PREFIX in message:
            record.msg, record.args = redact(message), None
        return True


def make_handler(stream=None, json_lines: bool | None = None) -> logging.Handler:
    stream = stream or sys.stderr
    if json_lines is None:
        json_lines = not stream.isatty()
    handler = logging.StreamHandler(stream)
    if json_lines:
        handler.setFormatter(JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(processName)s %(message)s "
            "%(request_id)s %(job_id)s", rename_fields={"levelname": "level", "asctime": "time"}))
    else:
        handler.setFormatter(logging.Formatter(PLAIN_FORMAT))
    handler.addFilter(ContextFilter())
    return handler


def configure_logging(level: int = logging.INFO, json_lines: bool | None = None) -> None:
    # Every record, from any library, carries the request and job it belongs to.
    logging.setLogRecordFactory(_record_with_context)
    root = logging.getLogger()
    if any(getattr(h, "_nestlab", False) for h in root.handlers):
        return
    handler = make_handler(json_lines=json_lines)
    handler._nestlab = True
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("urllib3", "kombu", "amqp", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
