"""Publishing jobs to the workers, after the job is committed.

The job row is the outbox: `published_at` stays NULL until the broker has
taken the task. If the broker is down the request still succeeds (the job is
recorded) and `republish_due` sends it later: the deployer's
`deployer.republish_jobs` task, which the beat scheduler runs every
`settings.republish_interval` seconds. It also re-sends jobs whose
message may have been lost with the broker (queued for long, or running with a
dead worker): a duplicate delivery is harmless, workers guard on job status.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import and_, or_, select, update

from shared.contract import REQUEST_ID_HEADER, TASK_FOR_JOB_KIND, TaskName
from shared.db import transaction
from shared.logs import request_id_var
from shared.models import Job, JobStatus, utcnow

log = logging.getLogger(__name__)

RESEND_QUEUED_AFTER = timedelta(minutes=10)


def publish(ctx, job_id: int, kind: str) -> bool:
    """Send the job's task by name; True when the broker took it."""
    task = TASK_FOR_JOB_KIND[kind]
    try:
        ctx.celery.send_task(task.name, args=[job_id], queue=task.queue,
                             headers={REQUEST_ID_HEADER: request_id_var.get()})
    except Exception as exc:  # noqa: BLE001 - any broker failure means "publish later"
        log.warning("could not publish job %s (%s); it will be re-published", job_id,
                    type(exc).__name__)
        with transaction(ctx.sessions) as session:
            session.execute(update(Job).where(Job.id == job_id)
                            .values(publish_attempts=Job.publish_attempts + 1))
        return False
    with transaction(ctx.sessions) as session:
        session.execute(update(Job).where(Job.id == job_id).values(
            published_at=utcnow(), publish_attempts=Job.publish_attempts + 1))
    return True


def publish_task(ctx, task: TaskName, row_id: int) -> bool:
    """Send any other task by name (its row is already committed); False if the broker
    did not take it, and the receiving service's own sweep will pick the row up."""
    try:
        ctx.celery.send_task(task.name, args=[row_id], queue=task.queue,
                             headers={REQUEST_ID_HEADER: request_id_var.get()})
    except Exception as exc:  # noqa: BLE001 - the row is recorded; it will be found later
        log.warning("could not publish %s(%s) (%s)", task.name, row_id, type(exc).__name__)
        return False
    return True


def due_for_publishing(ctx, now=None) -> list[tuple[int, str]]:
    now = now or utcnow()
    stale_beat = now - timedelta(seconds=ctx.settings.job_stale_after * 2)
    with ctx.sessions() as session:
        rows = session.execute(select(Job.id, Job.kind).where(or_(
            and_(Job.status == JobStatus.QUEUED, Job.published_at.is_(None)),
            and_(Job.status == JobStatus.QUEUED, Job.published_at < now - RESEND_QUEUED_AFTER),
            and_(Job.status == JobStatus.RUNNING, Job.heartbeat_at < stale_beat,
                 Job.published_at < stale_beat),
        )).order_by(Job.id))
        return [(row.id, row.kind) for row in rows]


def republish_due(ctx) -> int:
    """Publish every job that needs it; returns how many the broker took."""
    return sum(publish(ctx, job_id, kind) for job_id, kind in due_for_publishing(ctx))
