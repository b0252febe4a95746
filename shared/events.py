"""Job events: stored durably in the database, then appended to a Redis stream.

Every step of a job emits events (job id, zPod, sequence number, kind,
message, percent, time). The database row is the record; the Redis stream
(`settings.events_stream`) feeds live readers and the notifier. Losing Redis
loses nothing: the stream is best effort and readers can fall back to the DB.
"""

from __future__ import annotations

import json
import logging

import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shared.db import transaction
from shared.models import Event

log = logging.getLogger(__name__)


class EventKind:
    JOB_STARTED = "job_started"
    STEP_STARTED = "step_started"
    STEP_FINISHED = "step_finished"
    PROGRESS = "progress"
    JOB_RETRYING = "job_retrying"
    JOB_SUCCEEDED = "job_succeeded"
    JOB_FAILED = "job_failed"


def event_payload(event: Event) -> dict:
    return {
        "job_id": event.job_id,
        "zpod_id": event.zpod_id,
        "seq": event.seq,
        "kind": event.kind,
        "message": event.message,
        "percent": event.percent,
        "time": event.created_at.isoformat(),
    }


class EventRecorder:
    """Writes events for one process: DB first, then the Redis stream."""

    def __init__(self, sessions: sessionmaker[Session], redis_client: redis.Redis | None,
                 stream: str, maxlen: int = 100_000):
        self._sessions = sessions
        self._redis = redis_client
        self._stream = stream
        self._maxlen = maxlen

    def emit(self, job_id: int, zpod_id: int | None, kind: str, message: str,
             percent: int | None = None) -> dict:
        """Store an event in its own transaction, then stream it."""
        with transaction(self._sessions) as session:
            payload = self.add(session, job_id, zpod_id, kind, message, percent)
        self.publish(payload)
        return payload

    @staticmethod
    def add(session: Session, job_id: int, zpod_id: int | None, kind: str, message: str,
            percent: int | None = None) -> dict:
        """Store an event within the caller's transaction; `publish` it after the commit."""
        last = session.scalar(select(func.max(Event.seq)).where(Event.job_id == job_id))
        event = Event(job_id=job_id, zpod_id=zpod_id, seq=(last or 0) + 1, kind=kind,
                      message=message, percent=percent)
        session.add(event)
        session.flush()
        return event_payload(event)

    def publish(self, payload: dict) -> None:
        log.info("event job=%s seq=%s %s: %s", payload["job_id"], payload["seq"],
                 payload["kind"], payload["message"])
        if self._redis is None:
            return
        try:
            self._redis.xadd(self._stream, {"event": json.dumps(payload)},
                             maxlen=self._maxlen, approximate=True)
        except redis.RedisError as exc:
            log.warning("event stream unavailable, event kept in the database only: %s", exc)
