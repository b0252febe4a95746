"""/api/v1/zpods: nested labs, deployed and destroyed by the deployer."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy import select

from services.api.context import api_context, db
from services.api.endpoints import find_endpoint
from services.api.jobs import create_job
from services.api.schemas import ZpodCreateSchema, ZpodListQuerySchema, ZpodSchema
from shared.crypto import new_password
from shared.models import Component, Job, JobKind, JobStatus, Zpod, ZpodStatus
from shared.netplan import CapacityError, NetworkPlan, allocate, plan_components
from shared.profiles import PROFILES

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
        "profile": zpod.profile, "domain": zpod.domain, "network": network,
        "components": [{
            "hostname": c.hostname, "fqdn": f"{c.hostname}.{zpod.domain}", "role": c.role,
            "ip": c.ip, "vm_name": c.vm_name, "moref": c.moref, "status": c.status,
        } for c in zpod.components],
        "job_id": job_id, "created_at": zpod.created_at, "updated_at": zpod.updated_at,
    }


def find_zpod(ref: str) -> Zpod | None:
    session = db()
    found = session.scalar(select(Zpod).where(Zpod.live_name == ref))
    if found is None and ref.isdigit():
        found = session.get(Zpod, int(ref))
    return found


def get_zpod_or_404(ref: str) -> Zpod:
    zpod = find_zpod(ref)
    if zpod is None:
        abort(404, message=f"zPod '{ref}' not found")
    return zpod


def _active_job(zpod: Zpod) -> Job | None:
    return db().scalar(select(Job).where(
        Job.zpod_id == zpod.id, Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING])))


@blp.route("")
class Zpods(MethodView):
    @blp.arguments(ZpodListQuerySchema, location="query")
    @blp.response(200, ZpodSchema(many=True))
    def get(self, query):
        """List zPods (live ones unless `all=true`)."""
        statement = select(Zpod).order_by(Zpod.id)
        if not query["all"]:
            statement = statement.where(Zpod.live_name.is_not(None))
        return [zpod_view(z) for z in db().scalars(statement)]

    @blp.arguments(ZpodCreateSchema)
    @blp.response(202, ZpodSchema)
    def post(self, data):
        """Deploy a zPod: answers at once with the zPod and its deploy job."""
        session = db()
        endpoint = find_endpoint(data["endpoint"])
        errors = {}
        if endpoint is None:
            errors["endpoint"] = [f"unknown endpoint '{data['endpoint']}'"]
        profile = PROFILES.get(data["profile"])
        if profile is None:
            errors["profile"] = [f"unknown profile '{data['profile']}' "
                                 f"(known: {', '.join(sorted(PROFILES))})"]
        if errors:
            abort(422, errors={"json": errors})
        if session.scalar(select(Zpod.id).where(Zpod.live_name == data["name"])):
            abort(409, message=f"a zPod named '{data['name']}' already exists")
        zpod = Zpod(name=data["name"], live_name=data["name"], endpoint=endpoint,
                    profile=profile.name, domain=f"{data['name']}.{api_context().settings.domain}",
                    password_encrypted=api_context().secrets.encrypt(new_password()))
        session.add(zpod)
        session.flush()
        try:
            plan = allocate(session, endpoint, zpod)
        except CapacityError as exc:
            session.rollback()
            abort(409, message=str(exc))
        zpod.subnet, zpod.vlan = plan.subnet, plan.vlan
        for component in plan_components(profile, zpod.name, plan):
            session.add(Component(zpod_id=zpod.id, **component))
        job = create_job(JobKind.DEPLOY, zpod_id=zpod.id)
        session.refresh(zpod)
        return zpod_view(zpod), 202, {"Location": f"/api/v1/jobs/{job.id}"}


@blp.route("/<ref>")
class ZpodByRef(MethodView):
    @blp.response(200, ZpodSchema)
    def get(self, ref):
        """Show a zPod, by name or id: its network, its components and its latest job."""
        return zpod_view(get_zpod_or_404(ref))

    @blp.response(202, ZpodSchema)
    def delete(self, ref):
        """Destroy a zPod (also one whose deployment failed): answers with the destroy job."""
        zpod = get_zpod_or_404(ref)
        if zpod.status == ZpodStatus.DESTROYED:
            abort(409, message=f"zPod '{ref}' is already destroyed")
        active = _active_job(zpod)
        if active is not None:
            abort(409, message=f"zPod '{zpod.name}' has a {active.kind} job in progress "
                               f"(job {active.id}); wait for it to end")
        job = create_job(JobKind.DESTROY, zpod_id=zpod.id)
        db().refresh(zpod)
        return zpod_view(zpod), 202, {"Location": f"/api/v1/jobs/{job.id}"}
