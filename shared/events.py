"""Job events: stored durably in the database, then appended to a Redis stream.

Every step of a job emits events (job id, zPod, sequence number, kind,
message, percent, time). The database row is the record; the Redis stream
(`settings.events_stream`) wakes live readers (the API's event stream), and a
`notifier.event` task tells the notifier. Losing Redis loses nothing: both are
best effort, readers fall back to the database, and the notifier sweeps for
events it was never told about.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shared.contract import Tasks
from shared.db import transaction
from shared.models import Event, Job

log = logging.getLogger(__name__)


class EventKind:
    JOB_STARTED = "job_started"
    STEP_STARTED = "step_started"
    STEP_FINISHED = "step_finished"
    PROGRESS = "progress"
    JOB_RETRYING = "job_retrying"
    JOB_SUCCEEDED = "job_succeeded"
    JOB_FAILED = "job_failed"
    ZPOD_DESTROYED = "zpod_destroyed"
    # A difference between a zPod's record and what vCenter has (a `check` job).
    DRIFT = "drift"
    # The item that ends a stage of a deploy says so.
    STAGE_FINISHED = "stage_finished"
    # A zPod's lease ends soon (once per lease), or has ended and its destroy began.
    LEASE_EXPIRING = "lease_expiring"
    LEASE_EXPIRED = "lease_expired"

    ALL = (JOB_STARTED, STEP_STARTED, STEP_FINISHED, PROGRESS, JOB_RETRYING, JOB_SUCCEEDED,
           JOB_FAILED, ZPOD_DESTROYED, DRIFT, STAGE_FINISHED, LEASE_EXPIRING,
           LEASE_EXPIRED)


def event_payload(event: Event) -> dict:
    return {
        "id": event.id,
        "job_id": event.job_id,
        "zpod_id": event.zpod_id,
        "seq": event.seq,
        "kind": event.kind,
        "message": event.message,
        "percent": event.percent,
        "time": event.created_at.isoformat(),
    }


def notifier_hook(celery_app) -> Callable[[dict], None]:
    """Tell the notifier about a stored event by sending `notifier.event` by name.

    Why a task per event rather than a consumer group on the Redis stream: the
    notifier is a Celery worker like the others, so it gets late acknowledgement,
    redelivery after a crash and scaling by queue for free, where a stream
    consumer would need its own loop and its own reclaiming of pending entries.
    A task is one small message, sent without retries so the caller never
    waits on a sick broker; an event whose task is lost stays `notified_at IS
    NULL` in the database and the notifier's sweep routes it later.
    """
    def send(payload: dict) -> None:
        celery_app.send_task(Tasks.NOTIFY_EVENT.name, args=[payload["id"]],
                             queue=Tasks.NOTIFY_EVENT.queue, retry=False)
    return send


class EventRecorder:
    """Writes events for one process: DB first, then the Redis stream and the notifier."""

    def __init__(self, sessions: sessionmaker[Session], redis_client: redis.Redis | None,
                 stream: str, maxlen: int = 100_000,
                 notify: Callable[[dict], None] | None = None):
        self._sessions = sessions
        self._redis = redis_client
        self._stream = stream
        self._maxlen = maxlen
        self._notify = notify

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
        """Store an event within the caller's transaction; `publish` it after the commit.

        The job's row is locked first: a deploy's item tasks emit into one job
        at once, and each event's `seq` must be the next one (on SQLite every
        write transaction is serialised anyway).
        """
        session.execute(select(Job.id).where(Job.id == job_id).with_for_update())
        last = session.scalar(select(func.max(Event.seq)).where(Event.job_id == job_id))
        event = Event(job_id=job_id, zpod_id=zpod_id, seq=(last or 0) + 1, kind=kind,
                      message=message, percent=percent)
        session.add(event)
        session.flush()
        return event_payload(event)

    def publish(self, payload: dict) -> None:
        log.info("event job=%s seq=%s %s: %s", payload["job_id"], payload["seq"],
                 payload["kind"], payload["message"])
        if self._redis is not None:
            try:
                self._redis.xadd(self._stream, {"event": json.dumps(payload)},
                                 maxlen=self._maxlen, approximate=True)
            except redis.RedisError as exc:
                log.warning("event stream unavailable, event kept in the database only: %s", exc)
        if self._notify is not None:
            try:
                self._notify(payload)
            except Exception as exc:  # noqa: BLE001 - chat must never break a job
                log.warning("could not tell the notifier about event %s (%s); its sweep will",
                            payload["id"], type(exc).__name__)
