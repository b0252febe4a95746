"""Logging set-up shared by every process: one line per record, secrets masked.

Secrets should never reach a log call in the first place; the filter is a
second line of defence for values that look like nestlab API tokens.
"""

from __future__ import annotations

import logging
import re
import sys

from shared.crypto import TOKEN_PREFIX

_TOKEN_RE = re.compile(re.escape(TOKEN_PREFIX) + r"[A-Za-z0-9_\-]{8,}")


def redact(text: str) -> str:
    """`text` with anything that looks like a nestlab API token masked."""
    return _TOKEN_RE.sub(TOKEN_PREFIX + "***", text) if TOKEN_PREFIX in text else text


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if TOKEN_PREFIX in message:
            record.msg, record.args = _TOKEN_RE.sub(TOKEN_PREFIX + "***", message), None
        return True


def configure_logging(level: int = logging.INFO) -> None:
    root = logging.getLogger()
    if any(getattr(h, "_nestlab", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler._nestlab = True
    handler.setFormatter(logging.Formatter(
        "%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s"))
    handler.addFilter(RedactTokens())
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("urllib3", "kombu", "amqp"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
