"""The rebuild half of a trigger's `replace`: a new zPod where the old one was destroyed.

The API's trigger started the old zPod's destroy job with `{"rebuild": ...}`
in its params (services.api.trigger_actions). When that job succeeds, this
records the new zPod in the same transaction: the same name, endpoint, owner,
request and password, its merged configuration as already validated and
admitted for the old one (the trigger's template did not change in between;
quotas are unchanged, one zPod replaces another), a fresh network allocation,
a deploy job, and a delivery row so the trigger knows it built the new zPod.
The deploy job is published after the commit (`publish_rebuild`), or by the
outbox if that fails.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from shared.models import Component, Job, JobKind, Trigger, TriggerDelivery, Zpod, utcnow
from shared.netplan import CapacityError, allocate, plan_components
from shared.outbox import publish
from shared.profiles import profile_from_document

log = logging.getLogger(__name__)


def rebuild(session, destroy_job: Job, old: Zpod, params: dict) -> None:
    """Record the replacement of `old` (already marked destroyed in this session)."""
    session.flush()  # free the name first
    if session.get(Trigger, params["trigger_id"]) is None:
        log.info("zPod %s: its trigger was removed; not rebuilt", old.id)
        return
    delivery = TriggerDelivery(trigger_id=params["trigger_id"], event="rebuild",
                               zpod_name=old.name, outcome="rebuilt", status_code=202)
    if session.scalar(select(Zpod.id).where(Zpod.live_name == old.name)) is not None:
        delivery.outcome, delivery.status_code = "failed", 409
        delivery.reason = f"a zPod named '{old.name}' exists again; not rebuilt"
        session.add(delivery)
        return
    lease = params.get("lease_seconds")
    zpod = Zpod(name=old.name, live_name=old.name, endpoint_id=old.endpoint_id,
                owner_id=old.owner_id, profile=old.profile, domain=old.domain,
                request=old.request, config=old.config,
                password_encrypted=old.password_encrypted,
                lease_expires_at=utcnow() + timedelta(seconds=lease) if lease else None)
    nested = session.begin_nested()
    session.add(zpod)
    session.flush()
    try:
        plan = allocate(session, old.endpoint, zpod)
    except CapacityError as exc:
        nested.rollback()
        delivery.outcome, delivery.status_code, delivery.reason = "failed", 409, str(exc)
        session.add(delivery)
        return
    zpod.subnet, zpod.vlan = plan.subnet, plan.vlan
    for component in plan_components(profile_from_document(old.config), zpod.name, plan):
        session.add(Component(zpod_id=zpod.id, **component))
    job = Job(kind=JobKind.DEPLOY, zpod_id=zpod.id, user_id=destroy_job.user_id,
              params={"rebuild_of": old.id})
    session.add(job)
    session.flush()
    nested.commit()
    delivery.zpod_id, delivery.job_id = zpod.id, job.id
    delivery.reason = f"rebuilt after destroy job {destroy_job.id}"
    session.add(delivery)
    destroy_job.result = {**(destroy_job.result or {}), "rebuild_job_id": job.id}


def publish_rebuild(ctx, destroy_job_id: int) -> None:
    """After the destroy job's commit: send the rebuild's deploy job, if there is one."""
    with ctx.sessions() as session:
        job = session.get(Job, destroy_job_id)
        rebuild_job_id = (job.result or {}).get("rebuild_job_id") if job else None
    if rebuild_job_id is not None:
        log.info("destroy job %s: publishing rebuild job %s", destroy_job_id, rebuild_job_id)
        publish(ctx, rebuild_job_id, JobKind.DEPLOY)
