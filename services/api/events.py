"""/api/v1/events: every event the caller may see, as a list or a live stream.

Also the feeds that `GET /api/v1/jobs/<id>/events` streams from. A stream's
SSE id is the key a client resumes from: the DB event id here, the job's own
sequence number for a job's stream.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Response, request
from flask_smorest import Blueprint
from sqlalchemy import func, select

from services.api.auth import token_watch
from services.api.context import api_context, db
from services.api.schemas import EventListQuerySchema, EventSchema, StreamHeadersSchema
from services.api.stream import stream_response
from services.api.visibility import Visibility
from shared.models import Event, Job, JobStatus

blp = Blueprint("events", __name__, description="Job events, listed or streamed live (SSE)")

EVENT_STREAM = "text/event-stream"
# The OpenAPI document says that these answers may also be an event stream.
STREAM_DOC = {"responses": {"200": {"description": "OK", "content": {
    "application/json": {"schema": {"type": "array",
                                    "items": {"$ref": "#/components/schemas/Event"}}},
    EVENT_STREAM: {"schema": {"type": "string", "description": (
        "Server-Sent Events: `id`, `event` (the kind), `data` (the event as JSON)")}}}}}}


def wants_stream() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", EVENT_STREAM])
    return best == EVENT_STREAM


def render(event: Event) -> dict:
    return EventSchema().dump(event)


@dataclass(frozen=True)
class JobFeed:
    """One job's events, keyed by their sequence number; ends when the job does."""

    job_id: int
    visibility: Visibility

    def keys_after(self, session, cursor: int, limit: int) -> list[int]:
        return list(session.scalars(select(Event.seq).where(
            Event.job_id == self.job_id, Event.seq > cursor).order_by(Event.seq).limit(limit)))

    def events(self, session, after: int, upto: int) -> list[Event]:
        statement = select(Event).where(Event.job_id == self.job_id, Event.seq > after,
                                        Event.seq <= upto).order_by(Event.seq)
        return list(session.scalars(self.visibility.events(statement)))

    def key(self, event: Event) -> int:
        return event.seq

    def finished(self, session) -> bool:
        status = session.scalar(select(Job.status).where(Job.id == self.job_id))
        return status in (JobStatus.SUCCEEDED, JobStatus.FAILED)


@dataclass(frozen=True)
class AllFeed:
    """Every event the caller may see (optionally narrowed), keyed by event id; never ends."""

    visibility: Visibility
    job_id: int | None = None
    zpod_id: int | None = None
    kinds: tuple[str, ...] = ()

    def keys_after(self, session, cursor: int, limit: int) -> list[int]:
        # Unfiltered on purpose: a gap in ids is only a gap if no event has that id.
        return list(session.scalars(select(Event.id).where(Event.id > cursor)
                                    .order_by(Event.id).limit(limit)))

    def events(self, session, after: int, upto: int) -> list[Event]:
        statement = self.narrow(select(Event).where(Event.id > after, Event.id <= upto))
        return list(session.scalars(statement.order_by(Event.id)))

    def narrow(self, statement):
        if self.job_id is not None:
            statement = statement.where(Event.job_id == self.job_id)
        if self.zpod_id is not None:
            statement = statement.where(Event.zpod_id == self.zpod_id)
        if self.kinds:
            statement = statement.where(Event.kind.in_(self.kinds))
        return self.visibility.events(statement)

    def key(self, event: Event) -> int:
        return event.id

    def finished(self, session) -> bool:
        return False


@blp.route("")
@blp.arguments(EventListQuerySchema, location="query")
@blp.arguments(StreamHeadersSchema, location="headers")
@blp.response(200, EventSchema(many=True))
@blp.doc(**STREAM_DOC)
def list_events(query, headers):
    """Events of every job, oldest first; with `Accept: text/event-stream`, a live stream.

    The stream's SSE `id` is the event's `id`. It starts at the newest event
    (or after `after`, or after the `Last-Event-ID` header of a reconnect) and
    sends each new event once, in order, with a `: keep-alive` comment when
    quiet. The list returns up to `limit` events after `after`.
    """
    feed = AllFeed(Visibility.for_request(), query.get("job_id"), query.get("zpod_id"),
                   tuple(query.get("kind") or ()))
    if not wants_stream():
        statement = feed.narrow(select(Event).where(Event.id > query.get("after", 0)))
        return db().scalars(statement.order_by(Event.id).limit(query["limit"])).all()
    cursor = headers.get("last_event_id", query.get("after"))
    if cursor is None:
        cursor = db().scalar(select(func.max(Event.id))) or 0
    return stream_response(api_context(), feed, cursor, render, token_watch(api_context()))


def job_stream(job_id: int, cursor: int) -> Response:
    """A job's events from after `cursor` until the job ends (204 if nothing is left)."""
    feed = JobFeed(job_id, Visibility.for_request())
    session = db()
    last = session.scalar(select(func.max(Event.seq)).where(Event.job_id == job_id)) or 0
    if feed.finished(session) and cursor >= last:
        # Tells an EventSource to stop reconnecting.
        return Response(status=204)
    return stream_response(api_context(), feed, cursor, render, token_watch(api_context()))
