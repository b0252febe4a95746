"""/api/v1/zpods: nested labs, deployed and destroyed by the deployer."""

from __future__ import annotations

from datetime import timedelta

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy import select

from services.api.access import current_user, is_admin, visible_zpods, zpod_role
from services.api.context import api_context, db
from services.api.grants import grant
from services.api.jobs import create_job
from services.api.plans import plan_zpod
from services.api.profile_schemas import ProfileItemSchema
from services.api.schemas import (
    LeaseExtendSchema,
    ZpodCreateSchema,
    ZpodListQuerySchema,
    ZpodPlanResultSchema,
    ZpodPlanSchema,
    ZpodSchema,
)
from services.api.user_schemas import (
    PermissionCreateSchema,
    PermissionSchema,
    ZpodCredentialsSchema,
)
from services.api.zpod_requests import add_component as add_zpod_component
from services.api.zpod_requests import create_zpod
from shared.durations import format_duration
from shared.models import Job, JobKind, JobStatus, Zpod, ZpodPermission, ZpodStatus, utcnow
from shared.netplan import NetworkPlan

blp = Blueprint("zpods", __name__, description="zPods (nested labs)")


def zpod_view(zpod: Zpod) -> dict:
    session = db()
    job_id = session.scalar(select(Job.id).where(Job.zpod_id == zpod.id)
                            .order_by(Job.id.desc()).limit(1))
    network = None
    if zpod.subnet:
        plan = NetworkPlan(subnet=zpod.subnet, vlan=zpod.vlan)
        network = {"subnet": plan.subnet, "vlan": plan.vlan, "gateway": plan.gateway,
                   "netmask": plan.netmask, "dns": plan.dns}
    return {
        "id": zpod.id, "name": zpod.name, "status": zpod.status,
        "status_message": zpod.status_message, "endpoint": zpod.endpoint.name,
        "profile": zpod.profile, "owner": zpod.owner, "domain": zpod.domain, "network": network,
        "components": [{
            "hostname": c.hostname, "fqdn": f"{c.hostname}.{zpod.domain}", "role": c.role,
            "ip": c.ip, "vm_name": c.vm_name, "moref": c.moref, "status": c.status,
            "power_state": c.power_state,
            "stage": c.stage, "error": c.error,
        } for c in zpod.components],
        "job_id": job_id, "lease_expires_at": zpod.lease_expires_at,
        "created_at": zpod.created_at, "updated_at": zpod.updated_at,
    }


def find_zpod(ref: str) -> Zpod | None:
    session = db()
    found = session.scalar(select(Zpod).where(Zpod.live_name == ref))
    if found is None and ref.isdigit():
        found = session.get(Zpod, int(ref))
    return found


def get_zpod_or_404(ref: str, manage: bool = False) -> Zpod:
    """The zPod if the caller may see it (404 otherwise); with `manage`, 403 unless
    the caller owns it or holds `admin` on it."""
    zpod = find_zpod(ref)
    role = zpod_role(db(), zpod) if zpod is not None else None
    if role is None:
        abort(404, message=f"zPod '{ref}' not found")
    if manage and role not in ("owner", "admin"):
        abort(403, message=f"zPod '{ref}' may only be changed by its owner or its admins")
    return zpod


def _active_job(zpod: Zpod) -> Job | None:
    return db().scalar(select(Job).where(
        Job.zpod_id == zpod.id, Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING])))


def refuse_if_busy(zpod: Zpod) -> None:
    """409 while the zPod has a job queued or running: one job at a time per zPod."""
    active = _active_job(zpod)
    if active is not None:
        abort(409, message=f"zPod '{zpod.name}' has a {active.kind} job in progress "
                           f"(job {active.id}); wait for it to end")


def destroy_zpod(zpod: Zpod, params: dict | None = None) -> Job:
    """Record and publish the zPod's destroy job (the DELETE route and the webhook
    triggers); 409 when it is already destroyed or a job of it is under way."""
    if zpod.status == ZpodStatus.DESTROYED:
        abort(409, message=f"zPod '{zpod.name}' is already destroyed")
    refuse_if_busy(zpod)
    job = create_job(JobKind.DESTROY, zpod_id=zpod.id, params=params)
    db().refresh(zpod)
    return job


@blp.route("")
class Zpods(MethodView):
    @blp.arguments(ZpodListQuerySchema, location="query")
    @blp.response(200, ZpodSchema(many=True))
    def get(self, query):
        """List zPods (live ones unless `all=true`)."""
        statement = select(Zpod).order_by(Zpod.id)
        if not is_admin():
            statement = statement.where(visible_zpods(current_user().id))
        if not query["all"]:
            statement = statement.where(Zpod.live_name.is_not(None))
        return [zpod_view(z) for z in db().scalars(statement)]

    @blp.arguments(ZpodCreateSchema)
    @blp.response(202, ZpodSchema)
    def post(self, data):
        """Deploy a zPod: answers at once with the zPod and its deploy job.

        The configuration is the profile, then each named overlay, then
        `overrides`, merged in order (mappings merge, lists and scalars replace,
        `"$delete"` removes, `"$items"` edits list items by host name). Every
        problem of a bad request is listed at once.
        """
        zpod, job = create_zpod(db(), current_user(), data)
        return zpod_view(zpod), 202, {"Location": f"/api/v1/jobs/{job.id}"}


# Before "/<ref>" in the source, and a static path besides: POST /zpods/plan is
# never taken for a zPod named "plan" (which GET and DELETE /zpods/plan still reach).
@blp.route("/plan", methods=["POST"])
@blp.arguments(ZpodPlanSchema)
@blp.response(200, ZpodPlanResultSchema)
def plan(data):
    """Plan a zPod without creating it: the merged configuration, the network and
    addresses allocation would pick now, the vSphere objects the deployer would
    create in order, and the endpoint's capacity against what it needs.

    Same body as `POST /zpods`. Nothing is created or reserved. A request
    `POST /zpods` would refuse still answers 200, with `ok` false and every
    problem by field; only a malformed body gets 422.
    """
    return plan_zpod(db(), current_user(), data, api_context().settings)


@blp.route("/<ref>")
class ZpodByRef(MethodView):
    @blp.response(200, ZpodSchema)
    def get(self, ref):
        """Show a zPod, by name or id: its network, its components and its latest job."""
        return zpod_view(get_zpod_or_404(ref))

    @blp.response(202, ZpodSchema)
    def delete(self, ref):
        """Destroy a zPod (also one whose deployment failed): answers with the destroy job."""
        zpod = get_zpod_or_404(ref, manage=True)
        job = destroy_zpod(zpod)
        return zpod_view(zpod), 202, {"Location": f"/api/v1/jobs/{job.id}"}


@blp.route("/<ref>/components", methods=["POST"])
@blp.arguments(ProfileItemSchema)
@blp.response(202, ZpodSchema)
def add_component(item, ref):
    """Add a component to a live zPod: one item as in a profile (a count adds several),
    built as the zPod's last stage; answers with the zPod and the job's Location."""
    zpod = get_zpod_or_404(ref, manage=True)
    if zpod.status != ZpodStatus.READY:
        abort(409, message=f"zPod '{zpod.name}' is {zpod.status}; components are added to a "
                           "ready zPod")
    refuse_if_busy(zpod)
    job = add_zpod_component(db(), current_user(), zpod, item)
    db().refresh(zpod)
    return zpod_view(zpod), 202, {"Location": f"/api/v1/jobs/{job.id}"}


@blp.route("/<ref>/lease", methods=["POST"])
@blp.arguments(LeaseExtendSchema)
@blp.response(200, ZpodSchema)
def extend_lease(data, ref):
    """Extend (or shorten) the zPod's lease, for its owner and admins (audited).

    `extend_by` adds to the current expiry (or to now when the zPod has no
    lease); `expires_at` sets it. The new expiry must lie in the future and
    no further than the `lease_max` setting from now.
    """
    zpod = get_zpod_or_404(ref, manage=True)
    if zpod.live_name is None or zpod.status in (ZpodStatus.DESTROYING, ZpodStatus.DESTROYED):
        abort(409, message=f"zPod '{zpod.name}' is being destroyed or gone")
    now = utcnow()
    if "expires_at" in data:
        wanted = data["expires_at"]
    else:
        wanted = max(zpod.lease_expires_at or now, now) + data["extend_by"]
    latest = now + timedelta(seconds=api_context().settings.lease_max)
    if wanted <= now:
        abort(422, errors={"json": {"expires_at": ["the new expiry must be in the future"]}})
    if wanted > latest:
        abort(422, message=f"a lease may end at most {format_duration(latest - now)} from now "
                           f"(until {latest.isoformat(timespec='seconds')}; the lease_max "
                           f"setting)", errors={"json": {"lease": [f"at most until {latest}"]}})
    zpod.lease_expires_at, zpod.lease_warned_at = wanted, None
    db().commit()
    return zpod_view(zpod)


@blp.route("/<ref>/credentials")
@blp.response(200, ZpodCredentialsSchema)
def credentials(ref):
    """The zPod's password, for its owner and admins (every read is audited)."""
    zpod = get_zpod_or_404(ref, manage=True)
    return {"zpod": zpod.name, "username": "root",
            "password": api_context().secrets.decrypt(zpod.password_encrypted)}



@blp.route("/<ref>/permissions")
class ZpodPermissions(MethodView):
    @blp.response(200, PermissionSchema(many=True))
    def get(self, ref):
        """Who else may see (`viewer`) or manage (`admin`) this zPod."""
        zpod = get_zpod_or_404(ref)
        rows = db().scalars(select(ZpodPermission).where(ZpodPermission.zpod_id == zpod.id)
                            .order_by(ZpodPermission.id))
        return rows

    @blp.arguments(PermissionCreateSchema)
    @blp.response(201, PermissionSchema)
    def post(self, data, ref):
        """Grant a user or a group `admin` or `viewer` on the zPod (replaces their previous
        grant); a user's role is the strongest of their own grant and their groups'."""
        zpod = get_zpod_or_404(ref, manage=True)
        return grant(db(), ZpodPermission, {"zpod_id": zpod.id}, data)


@blp.route("/<ref>/permissions/<int:permission_id>", methods=["DELETE"])
@blp.response(204)
def revoke_permission(ref, permission_id):
    """Take a grant back."""
    zpod = get_zpod_or_404(ref, manage=True)
    session = db()
    permission = session.get(ZpodPermission, permission_id)
    if permission is None or permission.zpod_id != zpod.id:
        abort(404, message=f"permission {permission_id} not found on zPod '{ref}'")
    session.delete(permission)
    session.commit()
