"""Running one job in a worker: claim it, run its steps, end it in a clear state.

Shared by every service whose tasks run jobs (the deployer, the library).

A job may be delivered more than once (late acknowledgement, a killed worker,
a re-publish). The runner makes that harmless:

* a finished job is left alone;
* a job is *claimed* with one conditional UPDATE, so only one worker runs it
  at a time; the claim is kept alive by a heartbeat and may be taken over once
  its heartbeat is older than `settings.job_stale_after` (its worker died);
* a step that already succeeded in an earlier attempt is skipped, and the
  steps themselves look up what exists in vCenter before creating anything.

Transient faults are retried by Celery with capped, jittered backoff; anything
else ends the job `failed` with a message a person can act on.
"""

from __future__ import annotations

import logging
import random
import socket
import threading
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import or_, select, update

from shared.contract import REQUEST_ID_HEADER
from shared.db import transaction
from shared.errors import JobError, TransientError
from shared.events import EventKind
from shared.logs import job_id_var, request_id_var
from shared.models import Job, JobStatus, Step, utcnow
from shared.vsphere.connection import soap_calls
from shared.worker_context import context_for

log = logging.getLogger(__name__)


# Options for every Celery task that runs a job. `max_retries=None`: Celery
# itself never gives up on a job's task; the runner bounds transient retries
# (settings.task_retry_max) and ends the job in a readable failed state.
JOB_TASK_OPTIONS = {"bind": True, "shared": False, "max_retries": None}

# What a flow's `run` returns when it has handed the rest of the job to other
# tasks (a deploy's per-item tasks): the job stays running, unclaimed, and
# whoever finishes the last part ends it.
HANDED_OFF = "handed_off"


class JobBusy(Exception):
    """Another live worker holds the job's claim."""


class JobRun:
    """The state of one attempt at a job, handed to the flow's steps."""

    def __init__(self, ctx, job: Job, owner: str):
        self.ctx = ctx
        self.job_id = job.id
        self.zpod_id = job.zpod_id
        self.endpoint_id = job.endpoint_id
        self.kind = job.kind
        self.owner = owner
        self._done = {s.name for s in job.steps if s.status == JobStatus.SUCCEEDED}
        self.total_steps = 0
        self.step_count = 0
        self.soap_calls = 0

    def emit(self, kind: str, message: str, percent: int | None = None) -> None:
        self.ctx.events.emit(self.job_id, self.zpod_id, kind, message, percent)

    def percent(self) -> int | None:
        if not self.total_steps:
            return None
        return min(99, int(100 * self.step_count / self.total_steps))

    def done(self, name: str) -> bool:
        """Whether step `name` succeeded in this or an earlier attempt."""
        return name in self._done

    @contextmanager
    def step(self, name: str):
        """Record the body as a step of the job, with its events.

        The body always runs (its operations look before they act, so a second
        run finds what the first made); a step that already succeeded in an
        earlier attempt is not recorded or announced again.
        """
        started_at = self.percent()
        self.step_count += 1
        if name in self._done:
            yield
            return
        self._record_step(name, JobStatus.RUNNING)
        self.emit(EventKind.STEP_STARTED, name, started_at)
        try:
            yield
        except BaseException as exc:
            self._record_step(name, JobStatus.FAILED, error=str(exc) or type(exc).__name__)
            raise
        self._record_step(name, JobStatus.SUCCEEDED)
        self._done.add(name)
        self.emit(EventKind.STEP_FINISHED, name, self.percent())

    def _record_step(self, name: str, status: str, error: str | None = None) -> None:
        with transaction(self.ctx.sessions) as session:
            step = session.scalar(select(Step).where(Step.job_id == self.job_id, Step.name == name))
            if step is None:
                step = Step(job_id=self.job_id, name=name)
                session.add(step)
            step.status = status
            step.error = error
            if status == JobStatus.RUNNING:
                step.started_at, step.finished_at = utcnow(), None
            else:
                step.finished_at = utcnow()


class Heartbeat(threading.Thread):
    """Refreshes the job's claim while a step runs, however long it takes."""

    def __init__(self, ctx, job_id: int, owner: str):
        super().__init__(daemon=True, name=f"heartbeat-{job_id}")
        self.ctx, self.job_id, self.owner = ctx, job_id, owner
        self.stopped = threading.Event()

    def run(self) -> None:
        interval = max(0.5, self.ctx.settings.job_stale_after / 3)
        while not self.stopped.wait(interval):
            try:
                with transaction(self.ctx.sessions) as session:
                    session.execute(update(Job).where(
                        Job.id == self.job_id, Job.claimed_by == self.owner
                    ).values(heartbeat_at=utcnow()))
            except Exception:  # noqa: BLE001 - a missed beat is retried next interval
                log.warning("heartbeat for job %s failed", self.job_id, exc_info=True)


def new_owner() -> str:
    return f"{socket.gethostname()}:{uuid.uuid4().hex[:12]}"


def claim(ctx, job_id: int, owner: str) -> Job | None:
    """Take the job for `owner`; None when it is finished or missing; JobBusy if held."""
    stale = utcnow() - timedelta(seconds=ctx.settings.job_stale_after)
    with transaction(ctx.sessions) as session:
        result = session.execute(update(Job).where(
            Job.id == job_id,
            Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]),
            or_(Job.claimed_by.is_(None), Job.heartbeat_at < stale),
        ).values(claimed_by=owner, heartbeat_at=utcnow(), status=JobStatus.RUNNING,
                 attempts=Job.attempts + 1))
        job = session.get(Job, job_id)
        if job is None or job.finished:
            return None
        if result.rowcount != 1:
            raise JobBusy(f"job {job_id} is being run by {job.claimed_by}")
        if job.started_at is None:
            job.started_at = utcnow()
        job.steps  # noqa: B018 - load the steps while the session is open
        return job


def finish(run: JobRun, status: str, event: tuple[str, str, int | None],
           error: str | None = None, on_end: Callable | None = None,
           before: tuple[tuple[str, str, int | None], ...] = ()) -> None:
    """End the job, its side effects and its last events in one transaction.

    `before` are events the flow announces just ahead of the job's last one
    (e.g. `zpod_destroyed`); the job's own end event is always the last.
    """
    with transaction(run.ctx.sessions) as session:
        payloads = finish_in(session, run, status, event, error, on_end, before)
    for payload in payloads:
        run.ctx.events.publish(payload)


def finish_in(session, run: JobRun, status: str, event: tuple[str, str, int | None],
              error: str | None = None, on_end: Callable | None = None,
              before: tuple[tuple[str, str, int | None], ...] = ()) -> list[dict]:
    """`finish` within the caller's transaction; returns the events to publish after it.

    A job that has already ended is left as it is (two item tasks of one
    deploy may both fail): nothing is written and nothing is returned.
    """
    job = session.get(Job, run.job_id, with_for_update=True, populate_existing=True)
    if job.finished:
        return []
    job.status, job.error, job.finished_at = status, error, utcnow()
    job.claimed_by = None
    add_soap_calls(job, run.soap_calls)
    if on_end is not None:
        on_end(session, job)
    return [run.ctx.events.add(session, run.job_id, run.zpod_id, *e) for e in (*before, event)]


def add_soap_calls(job: Job, count: int) -> None:
    """Count SOAP calls on the job: its own task's and those of its item tasks."""
    job.result = {**(job.result or {}), "soap_calls": (job.result or {}).get("soap_calls", 0)
                  + count}


def hand_off(run: JobRun) -> None:
    """Leave the job running and unclaimed; its item tasks carry on and end it."""
    with transaction(run.ctx.sessions) as session:
        job = session.get(Job, run.job_id)
        if job.claimed_by == run.owner:
            job.claimed_by, job.heartbeat_at = None, utcnow()
        add_soap_calls(job, run.soap_calls)


def release(ctx, job_id: int, owner: str) -> None:
    with transaction(ctx.sessions) as session:
        session.execute(update(Job).where(Job.id == job_id, Job.claimed_by == owner)
                        .values(claimed_by=None))


def backoff(retries: int, base: float, cap: float = 60.0) -> float:
    """Capped exponential backoff with full jitter."""
    return random.uniform(base / 2, min(cap, base * (2 ** retries)))


def run_job(task, job_id: int, flow) -> str | None:
    """Run `flow` for the job under Celery task `task`; returns the final status."""
    ctx = context_for(task.app)
    request_id_var.set(task.request.get(REQUEST_ID_HEADER))
    job_id_var.set(job_id)
    owner = new_owner()
    try:
        job = claim(ctx, job_id, owner)
    except JobBusy as busy:
        log.info("%s; trying again later", busy)
        delay = backoff(task.request.retries, ctx.settings.job_stale_after / 2)
        raise task.retry(countdown=delay) from busy
    if job is None:
        log.info("job %s is finished or gone; nothing to do", job_id)
        return None
    run = JobRun(ctx, job, owner)
    calls_before = soap_calls.total
    first_attempt = job.attempts == 1
    run.emit(EventKind.JOB_STARTED if first_attempt else EventKind.JOB_RETRYING,
             f"{flow.title} started" if first_attempt else f"{flow.title} resumed "
             f"(attempt {job.attempts})", 0)
    heartbeat = Heartbeat(ctx, job_id, owner)
    heartbeat.start()
    try:
        outcome = flow.run(run)
    except TransientError as exc:
        ctx.forget_vsphere()
        if task.request.retries < ctx.settings.task_retry_max:
            delay = backoff(task.request.retries, ctx.settings.task_retry_backoff)
            release(ctx, job_id, owner)
            run.emit(EventKind.JOB_RETRYING, f"{exc}; retrying in {delay:.0f}s", run.percent())
            raise task.retry(countdown=delay) from exc
        return _fail(run, flow, f"{exc} (gave up after {task.request.retries + 1} attempts)")
    except JobError as exc:
        return _fail(run, flow, str(exc))
    except Exception as exc:  # noqa: BLE001 - the job must end failed, readable, retryable
        log.exception("job %s: unexpected error", job_id)
        return _fail(run, flow, f"internal error ({type(exc).__name__}); see the worker log")
    finally:
        heartbeat.stopped.set()
        # One job at a time per worker process, so the delta is this job's.
        run.soap_calls = soap_calls.total - calls_before
    if outcome == HANDED_OFF:
        hand_off(run)
        return JobStatus.RUNNING
    finish(run, JobStatus.SUCCEEDED, (EventKind.JOB_SUCCEEDED, f"{flow.title} succeeded", 100),
           on_end=flow.on_success, before=getattr(flow, "success_events", ()))
    # Work the success made that must wait for its commit (e.g. publishing a new job).
    after = getattr(flow, "after_success", None)
    if after is not None:
        after(ctx, job_id)
    return JobStatus.SUCCEEDED


def _fail(run: JobRun, flow, message: str) -> str:
    def on_end(session, job):
        flow.on_failure(session, job, message)

    finish(run, JobStatus.FAILED, (EventKind.JOB_FAILED, message, run.percent()), message,
           on_end=on_end)
    return JobStatus.FAILED
