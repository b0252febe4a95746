"""What a matching delivery does: build a zPod, replace or keep it, or tear it down.

Everything goes through the same paths as a person's requests, as the
trigger's owner: `create_zpod` (validation, quotas, endpoint grants) and
`destroy_zpod`. Their refusals (422, 409) become the delivery's outcome with
the same status code. A trigger only ever replaces or destroys a zPod that it
built itself (one of its deliveries names it).

A push for a zPod that exists, with policy `replace`: the old zPod's destroy
job is started now, carrying `{"rebuild": ...}` in its params; when that job
succeeds, the deployer records the new zPod (same request, same name) and
publishes its deploy job in the same step (services.deployer.rebuild). So the
rebuild never races the destroy for the vSphere names, and it survives a
restart of anything in between.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from services.api.errors import INVALID, describe
from services.api.hook_sources import HookEvent
from services.api.trigger_rules import zpod_name
from services.api.zpod_requests import create_zpod
from services.api.zpods import destroy_zpod
from shared.models import Job, Trigger, TriggerDelivery, Zpod, ZpodStatus


@dataclass
class Outcome:
    status: int
    outcome: str
    reason: str
    zpod: Zpod | None = None
    job: Job | None = None


def _built_by(session, trigger: Trigger, zpod: Zpod) -> bool:
    return session.scalar(select(TriggerDelivery.id).where(
        TriggerDelivery.trigger_id == trigger.id, TriggerDelivery.zpod_id == zpod.id)
        .limit(1)) is not None


def _refusal(exc: HTTPException, zpod: Zpod | None = None) -> Outcome:
    message, errors = describe(exc)
    if message == INVALID:
        message = f"the zPod request is not valid: {errors}"
    return Outcome(exc.code or 500, "failed", message, zpod)


def act(session, trigger: Trigger, event: HookEvent) -> Outcome:
    """Do what the event asks of the trigger; never raises an HTTP error."""
    name = zpod_name(trigger.name_pattern, event)
    live = session.scalar(select(Zpod).where(Zpod.live_name == name))
    try:
        if event.kind == "pull_request" and event.action == "closed":
            return _tear_down(session, trigger, name, live)
        if live is None:
            return _build(session, trigger, name)
        return _again(session, trigger, live)
    except HTTPException as exc:
        return _refusal(exc, live)


def _build(session, trigger: Trigger, name: str) -> Outcome:
    data = {"name": name, "endpoint": trigger.endpoint, "profile": trigger.profile,
            "overlays": list(trigger.overlays or []), "overrides": dict(trigger.overrides or {}),
            "lease": trigger_lease(trigger)}
    zpod, job = create_zpod(session, trigger.owner_user, data)
    return Outcome(202, "building", f"building zPod '{name}'", zpod, job)


def trigger_lease(trigger: Trigger) -> timedelta | None:
    return timedelta(seconds=trigger.lease_seconds) if trigger.lease_seconds else None


def _again(session, trigger: Trigger, live: Zpod) -> Outcome:
    if not _built_by(session, trigger, live):
        return Outcome(409, "failed", f"a zPod named '{live.name}' exists and was not built by "
                                      f"this trigger", live)
    if live.status == ZpodStatus.DESTROYING:
        return Outcome(200, "kept", f"zPod '{live.name}' is being destroyed or replaced "
                                    f"already", live)
    if trigger.on_push == "keep":
        return Outcome(200, "kept", "zPod exists, kept", live)
    rebuild = {"lease_seconds": trigger.lease_seconds, "trigger_id": trigger.id}
    job = destroy_zpod(live, params={"rebuild": rebuild})
    return Outcome(202, "replacing", f"destroying zPod '{live.name}'; it is rebuilt when "
                                     f"job {job.id} succeeds", live, job)


def _tear_down(session, trigger: Trigger, name: str, live: Zpod | None) -> Outcome:
    if live is None or not _built_by(session, trigger, live):
        return Outcome(200, "filtered", f"no zPod '{name}' built by this trigger to destroy",
                       live)
    if live.status == ZpodStatus.DESTROYING:
        return Outcome(200, "kept", f"zPod '{name}' is being destroyed already", live)
    job = destroy_zpod(live)
    return Outcome(202, "destroying", f"pull request closed: destroying zPod '{name}'", live, job)
