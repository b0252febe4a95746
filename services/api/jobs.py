"""/api/v1/jobs: the work the services do, its steps and its events."""

from __future__ import annotations

from collections.abc import Callable

from flask import g
from flask_smorest import Blueprint, abort
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.api.access import is_admin, zpod_role
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
from shared.models import (
    Component,
    ComponentStatus,
    Event,
    Job,
    JobKind,
    JobStatus,
    Zpod,
    ZpodStatus,
)
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


# Jobs a retry runs again from where they failed; the others are asked for again
# (a library sync, a download, a staging: POST them anew).
RETRYABLE = (JobKind.DEPLOY, JobKind.ADD_COMPONENT, JobKind.DESTROY, JobKind.VERIFY)


@blp.route("/<int:job_id>/retry", methods=["POST"])
@blp.response(202, JobSchema)
def retry_job(job_id):
    """Run a failed job again from its failed step: finished steps and ready components
    are not redone (a deploy re-sends only the components that are not ready)."""
    job = get_job_or_404(job_id)
    session = db()
    if job.zpod_id is not None:
        zpod = session.get(Zpod, job.zpod_id)
        if zpod_role(session, zpod) not in ("owner", "admin"):
            abort(403, message="only the zPod's owner or its admins may retry its jobs")
    elif not is_admin():
        abort(403, message="only an admin may retry this job")
    if job.status != JobStatus.FAILED:
        abort(409, message=f"job {job_id} is {job.status}; only a failed job can be retried")
    if job.kind not in RETRYABLE:
        abort(409, message=f"a {job.kind} job is not retried; ask for it again")
    if job.zpod_id is not None:
        if zpod.status == ZpodStatus.DESTROYED:
            abort(409, message=f"zPod '{zpod.name}' is destroyed")
        newer = session.scalar(select(Job.id).where(Job.zpod_id == zpod.id, Job.id > job.id))
        if newer is not None:
            abort(409, message=f"job {newer} came after this one on zPod '{zpod.name}'; "
                               "retry that one instead")
        # Components first, then the job: the order item tasks lock them in.
        session.execute(update(Component).where(
            Component.zpod_id == zpod.id, Component.status == ComponentStatus.FAILED,
        ).values(status="planned", claimed_by=None))
    taken = session.execute(update(Job).where(
        Job.id == job_id, Job.status == JobStatus.FAILED,
    ).values(status=JobStatus.QUEUED, error=None, finished_at=None, claimed_by=None,
             published_at=None)).rowcount
    if not taken:
        session.rollback()
        abort(409, message=f"job {job_id} is being retried already")
    session.commit()
    publish(api_context(), job.id, job.kind)
    session.refresh(job)
    return job, 202, {"Location": f"/api/v1/jobs/{job.id}"}
