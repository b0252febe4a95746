"""/api/v1/jobs: the work the services do, its steps and its events."""

from __future__ import annotations

from collections.abc import Callable

from flask import g
from flask_smorest import Blueprint, abort
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.api.context import api_context, db
from services.api.events import STREAM_DOC, job_stream, wants_stream
from services.api.schemas import (
    EventSchema,
    JobEventsQuerySchema,
    JobListQuerySchema,
    JobSchema,
    JobSummarySchema,
    StreamHeadersSchema,
)
from services.api.visibility import Visibility
from shared.models import Event, Job
from shared.outbox import publish

blp = Blueprint("jobs", __name__, description="Jobs, steps and events")


def create_job(kind: str, zpod_id: int | None = None, endpoint_id: int | None = None,
               claim: Callable[[Session, Job], bool] | None = None,
               params: dict | None = None) -> Job | None:
    """Write the job with whatever the request session holds, commit, then publish it.

    `claim(session, job)` links the new job to what it works on (e.g. with a
    conditional UPDATE); when it returns False nothing is written and the
    result is None.
    """
    session = db()
    user = g.get("user")
    job = Job(kind=kind, zpod_id=zpod_id, endpoint_id=endpoint_id, params=params,
              user_id=user.id if user is not None else None)
    session.add(job)
    if claim is not None:
        session.flush()
        if not claim(session, job):
            session.rollback()
            return None
    session.commit()
    publish(api_context(), job.id, kind)
    session.refresh(job)
    return job


def get_job_or_404(job_id: int) -> Job:
    job = db().get(Job, job_id)
    if job is None or not Visibility.for_request().may_see_job(db(), job_id):
        abort(404, message=f"job {job_id} not found")
    return job


@blp.route("")
@blp.arguments(JobListQuerySchema, location="query")
@blp.response(200, JobSummarySchema(many=True))
def list_jobs(query):
    """List recent jobs, newest first."""
    statement = Visibility.for_request().jobs(
        select(Job).order_by(Job.id.desc()).limit(query["limit"]))
    if query.get("status"):
        statement = statement.where(Job.status == query["status"])
    return db().scalars(statement).all()


@blp.route("/<int:job_id>")
@blp.response(200, JobSchema)
def get_job(job_id):
    """A job with its steps (and their times), its error if any, and its events in order."""
    return get_job_or_404(job_id)


@blp.route("/<int:job_id>/events")
@blp.arguments(JobEventsQuerySchema, location="query")
@blp.arguments(StreamHeadersSchema, location="headers")
@blp.response(200, EventSchema(many=True))
@blp.alt_response(204, description="stream asked for after the job ended and its last event")
@blp.doc(**STREAM_DOC)
def job_events(query, headers, job_id):
    """The job's events in order; with `Accept: text/event-stream`, a live stream.

    The stream sends the events from the start (or after `after`, or after the
    `Last-Event-ID` header of a reconnect), each once and in order, with the
    event's `seq` as its SSE `id`, then `event: end` when the job has ended.
    """
    get_job_or_404(job_id)
    after = headers.get("last_event_id", query.get("after", 0))
    if wants_stream():
        return job_stream(job_id, after)
    statement = select(Event).where(Event.job_id == job_id, Event.seq > after)
    statement = Visibility.for_request().events(statement)
    return db().scalars(statement.order_by(Event.seq)).all()
