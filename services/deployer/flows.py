"""The deployer's flows: deploy a zPod, destroy it, verify an endpoint.

A flow is a few named steps (see runner.JobRun.step) plus what to record when
the job ends. The vSphere names are fixed so anyone can find them:
folder, resource pool and portgroup `nestlab-<zpod>`, VMs `nestlab-<zpod>-<host>`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyVmomi import vim
from sqlalchemy import select

from services.deployer import vcenter
from services.deployer.rebuild import publish_rebuild, rebuild
from shared.db import transaction
from shared.events import EventKind
from shared.models import Component, Endpoint, Resource, Zpod, ZpodStatus, utcnow
from shared.netplan import NetworkPlan, release


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
    title = "deploy"

    def run(self, run) -> None:
        work = _begin(run, ZpodStatus.DEPLOYING)
        zpod, components, name, si, place = (work.zpod, work.components, work.name, work.si,
                                             work.place)
        run.total_steps = 5
        with run.step(f"folder {name}"):
            folder = vcenter.ensure_folder(si, place.vm_folder, name)
            _record(run, "folder", name, folder)
        with run.step(f"resource pool {name}"):
            pool = vcenter.ensure_pool(si, place.root_pool, name)
            _record(run, "resource_pool", name, pool)
        with run.step(f"portgroup {name} (VLAN {zpod.vlan})"):
            pg, pg_key = vcenter.ensure_portgroup(si, place.switch, name, zpod.vlan)
            _record(run, "portgroup", name, pg)
        with run.step(f"VMs ({len(components)})"):
            self._create_vms(run, si, zpod, components, place, folder, pool, pg_key)
        with run.step("power on"):
            existing = vcenter.vms_in_folder(si, folder)
            off = [vm for vm, state in existing.values() if state != vcenter.POWERED_ON]
            vcenter.power_on(si, off)
            self._mark_components(run, existing, "running")

    def _create_vms(self, run, si, zpod, components, place, folder, pool, pg_key) -> None:
        plan = NetworkPlan(subnet=zpod.subnet, vlan=zpod.vlan)
        password = run.ctx.secrets.decrypt(zpod.password_encrypted)
        existing = vcenter.vms_in_folder(si, folder)
        configs = []
        for component in components:
            if component.vm_name in existing:
                continue
            guestinfo = {
                "hostname": component.hostname, "ipaddress": component.ip,
                "netmask": plan.netmask, "gateway": plan.gateway, "dns": plan.dns,
                "domain": zpod.domain, "password": password,
            }
            configs.append(vcenter.vm_config(
                {"vm_name": component.vm_name, "spec": component.spec}, place, pg_key, guestinfo))
        if configs:
            run.emit(EventKind.PROGRESS, "creating " + ", ".join(c.name for c in configs),
                     run.percent())
            vcenter.create_vms(si, folder, pool, configs)
        self._mark_components(run, vcenter.vms_in_folder(si, folder), "created")

    def _mark_components(self, run, vms: dict, status: str) -> None:
        with transaction(run.ctx.sessions) as session:
            for component in session.scalars(select(Component).where(
                    Component.zpod_id == run.zpod_id)):
                hit = vms.get(component.vm_name)
                if hit is not None:
                    component.moref, component.status = hit[0]._moId, status

    def on_success(self, session, job) -> None:
        _set_zpod(session, job.zpod_id, ZpodStatus.READY)

    def on_failure(self, session, job, message: str) -> None:
        _set_zpod(session, job.zpod_id, ZpodStatus.FAILED, f"deploy failed: {message}")


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
        run.total_steps = 2
        with run.step(f"log in to {endpoint.host}:{endpoint.port}"):
            si = run.ctx.vsphere(run.ctx.access(endpoint))
        with run.step("find datacenter, cluster, datastore and switch"):
            vcenter.locate(si, endpoint)

    def on_success(self, session, job) -> None:
        endpoint = session.get(Endpoint, job.endpoint_id)
        endpoint.status, endpoint.status_message, endpoint.verified_at = "ok", None, utcnow()

    def on_failure(self, session, job, message: str) -> None:
        endpoint = session.get(Endpoint, job.endpoint_id)
        endpoint.status, endpoint.status_message, endpoint.verified_at = "error", message, utcnow()


FLOWS = {"deploy": DeployFlow(), "destroy": DestroyFlow(), "verify": VerifyFlow()}
