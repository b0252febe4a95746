"""Asking for a component's template on an endpoint: one row per pair, one staging job.

Used by the API (`POST /components/<uid>/stage`) and by the deployer when a
profile item asks for its template to be staged before it is cloned
(`template: stage`). The (component, endpoint) row is made once (a concurrent
maker wins and is re-read) and a job is attached to it with a conditional
UPDATE, so a template is never uploaded twice.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.library_files import template_name
from shared.models import StagedTemplate, TemplateStatus

# A template in these states may be (re)staged by a new job.
STAGEABLE = (TemplateStatus.NEW, TemplateStatus.FAILED)


def template_row(session: Session, component_id: int, uid: str,
                 endpoint_id: int) -> StagedTemplate:
    """The (component, endpoint) row, made once; commits when it makes it."""

    def find():
        return session.scalar(select(StagedTemplate).where(
            StagedTemplate.component_id == component_id,
            StagedTemplate.endpoint_id == endpoint_id))

    if (found := find()) is not None:
        return found
    try:
        session.add(StagedTemplate(component_id=component_id, endpoint_id=endpoint_id,
                                   name=template_name(uid), status=TemplateStatus.NEW))
        session.commit()
    except IntegrityError:
        session.rollback()
    return find()


def attach_job(session: Session, template_id: int, job_id: int,
               states=STAGEABLE) -> bool:
    """Give the staging of `template_id` to `job_id` if it may be (re)staged; True if taken."""
    taken = session.execute(update(StagedTemplate).where(
        StagedTemplate.id == template_id, StagedTemplate.status.in_(states),
    ).values(status=TemplateStatus.QUEUED, status_message=None, job_id=job_id))
    return taken.rowcount == 1
