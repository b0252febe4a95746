"""The deployer's flows: deploy a zPod, destroy it, verify an endpoint.

A flow is a few named steps (see runner.JobRun.step) plus what to record when
the job ends. The vSphere names are fixed so anyone can find them:
folder, resource pool and portgroup `nestlab-<zpod>`, VMs `nestlab-<zpod>-<host>`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyVmomi import vim
from sqlalchemy import select

from services.deployer import capacity, items, vcenter
from services.deployer.rebuild import publish_rebuild, rebuild
from shared.db import transaction
from shared.events import EventKind
from shared.jobs import HANDED_OFF
from shared.models import Component, Endpoint, Job, Resource, Zpod, ZpodStatus, utcnow
from shared.netplan import release


def zpod_object_name(zpod_name: str) -> str:
    return f"nestlab-{zpod_name}"


@dataclass
class ZpodWork:
    """What a zPod flow works with: the records, the vCenter session, the placement."""

    zpod: Zpod
    endpoint: Endpoint
    components: list[Component]
    name: str
    si: object
    place: vcenter.Placement


def _begin(run, status: str, need_datastore: bool = True) -> ZpodWork:
    """Load the zPod, mark it `status`, log in and find the endpoint's objects."""
    with transaction(run.ctx.sessions) as session:
        zpod = _set_zpod(session, run.zpod_id, status)
        endpoint, components = zpod.endpoint, list(zpod.components)
        session.flush()
        session.expunge_all()
    si = run.ctx.vsphere(run.ctx.access(endpoint))
    place = vcenter.locate(si, endpoint, need_datastore=need_datastore)
    return ZpodWork(zpod, endpoint, components, zpod_object_name(zpod.name), si, place)


def _record(run, kind: str, name: str, obj) -> None:
    with transaction(run.ctx.sessions) as session:
        found = session.scalar(select(Resource).where(
            Resource.zpod_id == run.zpod_id, Resource.kind == kind, Resource.name == name))
        if found is None:
            session.add(Resource(zpod_id=run.zpod_id, kind=kind, name=name, moref=obj._moId))
        else:
            found.moref = obj._moId


def _set_zpod(session, zpod_id: int, status: str, message: str | None = None) -> Zpod:
    zpod = session.get(Zpod, zpod_id)
    zpod.status, zpod.status_message = status, message
    return zpod


class DeployFlow:
    """Make the zPod's network, then hand its components to per-item tasks, stage by stage.

    Run again (a retry, or a re-publish after every worker went quiet), it
    finds what exists, advances past stages already finished and re-sends only
    the items that are not ready (services.deployer.items).
    """

    title = "deploy"

    def run(self, run):
        work = _begin(run, ZpodStatus.DEPLOYING)
        zpod, name, si, place = work.zpod, work.name, work.si, work.place
        run.total_steps = 3 + len(work.components)
        with run.step(f"folder {name}"):
            folder = vcenter.ensure_folder(si, place.vm_folder, name)
            _record(run, "folder", name, folder)
        with run.step(f"resource pool {name}"):
            pool = vcenter.ensure_pool(si, place.root_pool, name)
            _record(run, "resource_pool", name, pool)
        with run.step(f"portgroup {name} (VLAN {zpod.vlan})"):
            pg, pg_key = vcenter.ensure_portgroup(si, place.switch, name, zpod.vlan)
            _record(run, "portgroup", name, pg)
        placement = {
            "folder": folder._moId, "pool": pool._moId, "portgroup": pg._moId,
            "portgroup_key": pg_key, "switch_uuid": place.switch_uuid,
            "datastore": place.datastore._moId if place.datastore else None,
            "datastore_name": place.datastore_name}
        return self._dispatch(run, placement)

    def _dispatch(self, run, placement: dict):
        """Record the placement, skip finished stages, send the current stage's items."""
        with transaction(run.ctx.sessions) as session:
            job = session.get(Job, run.job_id)
            job.result = {**(job.result or {}), "placement": placement}
            stage = job.stage if job.stage is not None else items.next_stage(
                session, run.zpod_id, None)
            while stage is not None and not items.pending_in(session, run.zpod_id, stage):
                stage = items.next_stage(session, run.zpod_id, stage)
            job.stage = stage
        if stage is None:
            return None  # every component is ready: the job ends here
        with run.ctx.sessions() as session:
            name = session.scalar(select(Component.stage).where(
                Component.zpod_id == run.zpod_id, Component.stage_index == stage).limit(1))
        count = items.dispatch(run.ctx, run.zpod_id, stage)
        run.emit(EventKind.PROGRESS, items.stage_started_message(name, count), run.percent())
        return HANDED_OFF

    def on_success(self, session, job) -> None:
        items.deploy_succeeded(session, job)

    def on_failure(self, session, job, message: str) -> None:
        items.deploy_failed(session, job, message)


class DestroyFlow:
    title = "destroy"
    success_events = ((EventKind.ZPOD_DESTROYED, "zPod destroyed", 100),)

    def run(self, run) -> None:
        work = _begin(run, ZpodStatus.DESTROYING, need_datastore=False)
        name, si, place = work.name, work.si, work.place
        run.total_steps = 4
        folder = vcenter.child_named(si, place.vm_folder, vim.Folder, name)
        with run.step("remove VMs"):
            if folder is not None:
                vms = vcenter.vms_in_folder(si, folder)
                vcenter.power_off(si, [vm for vm, st in vms.values() if st == vcenter.POWERED_ON])
                vcenter.destroy(si, [vm for vm, _ in vms.values()], "the zPod's VMs")
        with run.step(f"remove folder {name}"):
            if folder is not None:
                vcenter.destroy(si, [folder], f"folder '{name}'")
        with run.step(f"remove resource pool {name}"):
            pool = vcenter.child_named(si, place.root_pool, vim.ResourcePool, name)
            if pool is not None:
                vcenter.destroy(si, [pool], f"resource pool '{name}'")
        with run.step(f"remove portgroup {name}"):
            pg, _ = vcenter.find_portgroup(si, place.switch, name)
            if pg is not None:
                vcenter.destroy(si, [pg], f"portgroup '{name}'")

    def on_success(self, session, job) -> None:
        zpod = _set_zpod(session, job.zpod_id, ZpodStatus.DESTROYED)
        zpod.live_name = None
        release(session, zpod)
        for component in zpod.components:
            component.status, component.moref = "destroyed", None
        for resource in list(zpod.resources):
            session.delete(resource)
        if (job.params or {}).get("rebuild"):
            rebuild(session, job, zpod, job.params["rebuild"])

    def after_success(self, ctx, job_id: int) -> None:
        publish_rebuild(ctx, job_id)

    def on_failure(self, session, job, message: str) -> None:
        _set_zpod(session, job.zpod_id, ZpodStatus.FAILED, f"destroy failed: {message}")


class VerifyFlow:
    title = "verify endpoint"

    def run(self, run) -> None:
        with run.ctx.sessions() as session:
            endpoint = session.get(Endpoint, run.endpoint_id)
            session.expunge(endpoint)
        run.total_steps = 3
        with run.step(f"log in to {endpoint.host}:{endpoint.port}"):
            si = run.ctx.vsphere(run.ctx.access(endpoint))
        with run.step("find datacenter, cluster, datastore and switch"):
            place = vcenter.locate(si, endpoint)
        with run.step("read the cluster's and datastore's capacity"):
            capacity.store(run.ctx.sessions, endpoint.id, capacity.read(si, place))

    def on_success(self, session, job) -> None:
        endpoint = session.get(Endpoint, job.endpoint_id)
        endpoint.status, endpoint.status_message, endpoint.verified_at = "ok", None, utcnow()

    def on_failure(self, session, job, message: str) -> None:
        endpoint = session.get(Endpoint, job.endpoint_id)
        endpoint.status, endpoint.status_message, endpoint.verified_at = "error", message, utcnow()


FLOWS = {"deploy": DeployFlow(), "destroy": DestroyFlow(), "verify": VerifyFlow()}
