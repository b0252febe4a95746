"""zPod leases: warn ahead of the end, destroy at the end (the beat's `deployer.expire_leases`).

Safe to run twice at once (two beat ticks, two workers): each warning and
each expiry is won with a conditional UPDATE on the zPod, so exactly one run
emits `lease_expiring` for a lease (remembered in `lease_warned_at`, reset
when the lease changes) and exactly one creates the destroy job. The destroy
job is written with its `lease_expired` event in one transaction, then
published; if publishing fails, the outbox re-publishes it. A zPod with a job
under way is left for a later tick.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import exists, select, update

from shared.db import transaction
from shared.events import EventKind
from shared.models import Job, JobKind, JobStatus, Zpod, ZpodStatus, utcnow
from shared.outbox import publish

log = logging.getLogger(__name__)

GONE = (ZpodStatus.DESTROYING, ZpodStatus.DESTROYED)


def _live():
    return (Zpod.live_name.is_not(None), Zpod.lease_expires_at.is_not(None),
            Zpod.status.not_in(GONE))


def expire_leases(ctx, now=None) -> dict[str, int]:
    """One pass: warn the leases ending within `lease_warning`, destroy the ended ones."""
    now = now or utcnow()
    warned = sum(_warn(ctx, zpod_id, now) for zpod_id in _due(
        ctx, Zpod.lease_expires_at > now, Zpod.lease_warned_at.is_(None),
        Zpod.lease_expires_at <= now + timedelta(seconds=ctx.settings.lease_warning)))
    expired = sum(_expire(ctx, zpod_id, now)
                  for zpod_id in _due(ctx, Zpod.lease_expires_at <= now))
    return {"warned": warned, "expired": expired}


def _due(ctx, *conditions) -> list[int]:
    with ctx.sessions() as session:
        return list(session.scalars(select(Zpod.id).where(*_live(), *conditions)
                                    .order_by(Zpod.lease_expires_at)))


def _latest_job(session, zpod_id: int) -> int | None:
    return session.scalar(select(Job.id).where(Job.zpod_id == zpod_id)
                          .order_by(Job.id.desc()).limit(1))


def _warn(ctx, zpod_id: int, now) -> bool:
    with transaction(ctx.sessions) as session:
        zpod = session.get(Zpod, zpod_id)
        won = session.execute(update(Zpod).where(
            Zpod.id == zpod_id, Zpod.lease_warned_at.is_(None),
            Zpod.lease_expires_at == zpod.lease_expires_at).values(lease_warned_at=now))
        job_id = _latest_job(session, zpod_id)
        if won.rowcount != 1 or job_id is None:
            return False
        left = zpod.lease_expires_at - now
        payload = ctx.events.add(session, job_id, zpod_id, EventKind.LEASE_EXPIRING,
                                 f"zPod '{zpod.name}' lease ends at "
                                 f"{zpod.lease_expires_at.isoformat(timespec='seconds')} "
                                 f"(in {int(left.total_seconds() // 60)} min); extend it with "
                                 f"`nestlab zpods lease extend {zpod.name} --by 2h`")
    ctx.events.publish(payload)
    return True


def _expire(ctx, zpod_id: int, now) -> bool:
    with transaction(ctx.sessions) as session:
        busy = exists().where(Job.zpod_id == Zpod.id,
                              Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
        won = session.execute(update(Zpod).where(
            Zpod.id == zpod_id, *_live(), Zpod.lease_expires_at <= now, ~busy,
        ).values(status=ZpodStatus.DESTROYING, status_message="lease expired"))
        if won.rowcount != 1:
            return False
        zpod = session.get(Zpod, zpod_id)
        job = Job(kind=JobKind.DESTROY, zpod_id=zpod_id, params={"reason": "lease expired"})
        session.add(job)
        session.flush()
        payload = ctx.events.add(session, job.id, zpod_id, EventKind.LEASE_EXPIRED,
                                 f"zPod '{zpod.name}' lease ended at "
                                 f"{zpod.lease_expires_at.isoformat(timespec='seconds')}; "
                                 f"destroying it")
    ctx.events.publish(payload)
    log.info("zPod %s: lease expired, destroy job %s", zpod_id, job.id)
    publish(ctx, job.id, JobKind.DESTROY)
    return True
