"""Server-Sent Events: live job events over a plain HTTP response.

Where events come from, and why: the database is the only source a stream
reads events from; it is the record, it has them in order and it can replay
from any point, so a stream resumes exactly from `Last-Event-ID`. The Redis
stream that the recorders append to is used only as a wake-up: one reader
thread per API process (`EventHub`) blocks on XREAD and wakes the streams
waiting in that process, which then read what is new from the database. So
events show up at once, nothing is lost when Redis is down or an XADD failed
(streams then fall back to checking every `sse_poll_interval` seconds), and
an API process holds one Redis connection, not one per client.

Each open stream holds a server thread (werkzeug's threaded server, gunicorn
gthread workers), so a process serves at most `sse_max_streams` of them at a
time (503 past that) and each ends after `sse_max_seconds`; clients resume
with `Last-Event-ID`, as EventSource does by itself.

A stream outlives the request that checked its token, so it checks again every
`sse_token_check` seconds: once the token is revoked or expired, or its user
disabled, the stream sends `event: error` saying why and ends.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Protocol

import redis
from flask import Response
from flask_smorest import abort

log = logging.getLogger(__name__)

BATCH = 200
XREAD_BLOCK_MS = 5000
SSE_HEADERS = {
    "Cache-Control": "no-cache",
    # nginx (and proxies that honour it) must pass each event on at once.
    "X-Accel-Buffering": "no",
}


class EventHub:
    """One XREAD loop per process that wakes every stream waiting in that process."""

    def __init__(self, redis_url: str, stream: str):
        self._redis_url, self._stream = redis_url, stream
        self._changed = threading.Condition()
        self.version = 0
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="nestlab-event-hub")
        self._thread.start()

    def wait(self, version: int, timeout: float) -> None:
        """Return when an event arrived since `version` was read, or after `timeout`."""
        with self._changed:
            self._changed.wait_for(lambda: self.version != version, timeout=max(0.0, timeout))

    def stop(self) -> None:
        self._stopped.set()

    def _bump(self) -> None:
        with self._changed:
            self.version += 1
            self._changed.notify_all()

    def _run(self) -> None:
        client = redis.Redis.from_url(self._redis_url, socket_connect_timeout=5,
                                      socket_timeout=XREAD_BLOCK_MS / 1000 + 5)
        last = "$"
        while not self._stopped.is_set():
            try:
                reply = client.xread({self._stream: last}, block=XREAD_BLOCK_MS, count=BATCH)
            except redis.RedisError as exc:
                log.debug("event hub: Redis unavailable (%s); streams poll the database", exc)
                self._stopped.wait(2.0)
                continue
            if reply:
                last = reply[0][1][-1][0]
                self._bump()
        client.close()


class GapGuard:
    """Holds events back while a gap before them may still be filled.

    Keys (event ids, or a job's sequence numbers) are handed out before the
    commit, so on PostgreSQL id 11 can be visible before id 10 is. A stream that
    sent 11 and moved its cursor past 10 would never send 10. So a stream sends
    only the unbroken run after its cursor, and skips a gap only once it has
    stayed open for `grace` seconds (then it was a rolled-back transaction).
    """

    def __init__(self, grace: float, clock=time.monotonic):
        self.grace, self.clock = grace, clock
        self.gap_since: float | None = None

    def horizon(self, cursor: int, keys: list[int]) -> int:
        """The highest key that may be sent, given every committed key after `cursor`."""
        for key in keys:
            if key != cursor + 1 and not self._gap_expired():
                return cursor
            cursor, self.gap_since = key, None
        return cursor

    @property
    def waiting(self) -> bool:
        return self.gap_since is not None

    def _gap_expired(self) -> bool:
        if self.gap_since is None:
            self.gap_since = self.clock()
        return self.clock() - self.gap_since >= self.grace


class Feed(Protocol):
    """What one stream reads: a job's events by seq, or all visible events by id."""

    def keys_after(self, session, cursor: int, limit: int) -> list[int]:
        """Every committed key after `cursor`, in order, whatever the caller may see."""

    def events(self, session, after: int, upto: int) -> list:
        """The events this caller sees with `after < key <= upto`, in order."""

    def key(self, event) -> int: ...

    def finished(self, session) -> bool:
        """True once nothing more will come (the job ended)."""


def sse_message(event_id: int | None, kind: str, data: dict) -> str:
    lines = [] if event_id is None else [f"id: {event_id}"]
    lines += [f"event: {kind}", f"data: {json.dumps(data, separators=(',', ':'))}"]
    return "\n".join(lines) + "\n\n"


class EventStream:
    """The body of one SSE response: backlog, then live events, keep-alives, the end."""

    def __init__(self, ctx, feed: Feed, cursor: int, render, refused=lambda: None):
        self.ctx, self.feed, self.cursor, self.render = ctx, feed, cursor, render
        self.refused = refused  # why the caller may no longer listen, or None
        self.settings = ctx.settings
        self.guard = GapGuard(self.settings.sse_gap_grace)

    def __iter__(self) -> Iterator[str]:
        settings = self.settings
        yield f"retry: {int(settings.sse_poll_interval * 1000)}\n\n"
        started = last_write = checked = time.monotonic()
        while True:
            if time.monotonic() - checked >= settings.sse_token_check:
                checked = time.monotonic()
                reason = self.refused()
                if reason is not None:
                    yield sse_message(None, "error", {"message": f"stream closed: {reason}"})
                    return
            version = self.ctx.hub.version
            done, sent, more = self._read()
            yield from sent
            now = time.monotonic()
            if sent:
                last_write = now
            if done:
                yield sse_message(None, "end", {"cursor": self.cursor})
                return
            if more:
                continue
            if now - started >= settings.sse_max_seconds:
                return
            if now - last_write >= settings.sse_keepalive:
                yield ": keep-alive\n\n"
                last_write = now
            wait = min(settings.sse_poll_interval, settings.sse_keepalive - (now - last_write),
                       settings.sse_token_check - (now - checked))
            self.ctx.hub.wait(version, min(wait, 0.2) if self.guard.waiting else wait)

    def _read(self) -> tuple[bool, list[str], bool]:
        """(the feed is finished and fully sent, messages to send, more backlog waiting)."""
        with self.ctx.sessions() as session:
            finished = self.feed.finished(session)  # before the events: see the last one
            keys = self.feed.keys_after(session, self.cursor, BATCH)
            upto = self.guard.horizon(self.cursor, keys)
            events = self.feed.events(session, self.cursor, upto) if upto > self.cursor else []
        messages = [sse_message(self.feed.key(e), e.kind, self.render(e)) for e in events]
        caught_up = upto == (keys[-1] if keys else self.cursor)
        self.cursor = upto
        return finished and caught_up and len(keys) < BATCH, messages, len(keys) == BATCH


def stream_response(ctx, feed: Feed, cursor: int, render, refused=lambda: None) -> Response:
    """An SSE response for `feed` from `cursor`, or 503 when this process has enough.

    `refused()` says why the caller may no longer listen (None while they may).
    """
    if not ctx.stream_slots.acquire(blocking=False):
        abort(503, message="too many open event streams on this server; retry shortly",
              headers={"Retry-After": "5"})
    response = Response(iter(EventStream(ctx, feed, cursor, render, refused)),
                        mimetype="text/event-stream", headers=SSE_HEADERS)
    response.call_on_close(ctx.stream_slots.release)
    return response
