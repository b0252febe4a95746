"""Operations on a live zPod: power (whole zPod or one component), remove a
component, check for drift. Routes of the `zpods` blueprint.

Each is a job for the deployer, answered 202 with the job and its Location.
One job at a time per zPod: another while one is queued or running is a 409,
as is any operation on a zPod that is not `ready` or `failed`. Only the
zPod's owner and its admins may ask; every request is audited.
"""

from __future__ import annotations

from flask_smorest import abort

from services.api.context import api_context
from services.api.jobs import create_job
from services.api.schemas import JobSchema, PowerSchema
from services.api.zpods import blp, get_zpod_or_404, refuse_if_busy
from shared.models import Component, Job, JobKind, Zpod, ZpodStatus

OPERABLE = (ZpodStatus.READY, ZpodStatus.FAILED)


def operable_zpod(ref: str) -> Zpod:
    """The zPod, if the caller manages it and it can take an operation now (else 403/404/409)."""
    zpod = get_zpod_or_404(ref, manage=True)
    if zpod.status not in OPERABLE:
        abort(409, message=f"zPod '{zpod.name}' is {zpod.status}; operations need it ready "
                           "or failed")
    refuse_if_busy(zpod)
    return zpod


def component_or_404(zpod: Zpod, hostname: str) -> Component:
    found = next((c for c in zpod.components if c.hostname == hostname), None)
    if found is None:
        abort(404, message=f"zPod '{zpod.name}' has no component '{hostname}'")
    return found


def accepted(job: Job):
    return job, 202, {"Location": f"/api/v1/jobs/{job.id}"}


def power_job(zpod: Zpod, data: dict, hostname: str | None) -> Job:
    timeout = data.get("timeout")
    if data["action"] == "stop" and timeout is None:
        timeout = api_context().settings.guest_shutdown_timeout
    params = {"action": data["action"], "hostname": hostname, "timeout": timeout}
    return create_job(JobKind.POWER, zpod_id=zpod.id, params=params)


@blp.route("/<ref>/power", methods=["POST"])
@blp.arguments(PowerSchema)
@blp.response(202, JobSchema)
def power_zpod(data, ref):
    """Power every VM of the zPod: `start`, `stop` (guest shutdown), `poweroff` or `reset`.

    VMs already in the wanted state are left alone. Follow the job for one
    event per VM; each component's `power_state` is updated when it ends.
    """
    return accepted(power_job(operable_zpod(ref), data, None))


@blp.route("/<ref>/components/<hostname>/power", methods=["POST"])
@blp.arguments(PowerSchema)
@blp.response(202, JobSchema)
def power_component(data, ref, hostname):
    """Power one component's VM (same actions as for the whole zPod)."""
    zpod = operable_zpod(ref)
    component = component_or_404(zpod, hostname)
    return accepted(power_job(zpod, data, component.hostname))


@blp.route("/<ref>/components/<hostname>", methods=["DELETE"])
@blp.response(202, JobSchema)
def remove_component(ref, hostname):
    """Remove a component: power off and destroy its VM, then forget it (its IP frees).

    The zPod keeps at least one component: removing the last is a 409
    (destroy the zPod instead).
    """
    zpod = operable_zpod(ref)
    component = component_or_404(zpod, hostname)
    if len(zpod.components) == 1:
        abort(409, message=f"'{hostname}' is the last component of zPod '{zpod.name}'; "
                           "destroy the zPod instead")
    return accepted(create_job(JobKind.REMOVE_COMPONENT, zpod_id=zpod.id,
                               params={"hostname": component.hostname}))


@blp.route("/<ref>/check", methods=["POST"])
@blp.response(202, JobSchema)
def check_zpod(ref):
    """Compare the zPod with vCenter: missing or extra VMs, power states, sizes, folder,
    portgroup. Each difference is a `drift` event and an entry of the job's
    `result.drift`; the job succeeds whatever it finds (it is a report)."""
    return accepted(create_job(JobKind.CHECK, zpod_id=operable_zpod(ref).id))
