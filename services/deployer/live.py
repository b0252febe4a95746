"""What the flows on a live zPod (power, remove a component, drift check) start from.

Unlike a deploy or a destroy, these jobs leave the zPod's status alone: the
zPod stays `ready` (or `failed`) while its VMs are powered, removed or
compared. Each loads the records once, logs in, and finds the zPod's folder.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyVmomi import vim

from services.deployer import vcenter
from services.deployer.flows import zpod_object_name
from shared.errors import PermanentError
from shared.models import Component, Endpoint, Job, Zpod
from shared.vsphere.collector import retrieve
from shared.vsphere.inventory import call

# What the flows read of each VM of a zPod, in one PropertyCollector call.
VM_PROPERTIES = ["name", "runtime.powerState", "config.hardware.numCPU",
                 "config.hardware.memoryMB", "guest.toolsRunningStatus"]


@dataclass
class LiveZpod:
    """A live zPod's records (detached from their session) and its vCenter objects."""

    zpod: Zpod
    endpoint: Endpoint
    components: list[Component]
    params: dict
    name: str
    si: object
    place: vcenter.Placement
    folder: vim.Folder | None

    def component(self, hostname: str) -> Component:
        found = next((c for c in self.components if c.hostname == hostname), None)
        if found is None:
            raise PermanentError(f"zPod '{self.zpod.name}' has no component '{hostname}'")
        return found

    def vms(self) -> dict[str, tuple]:
        """{VM name: (vm, {property: value})} of the VMs in the zPod's folder."""
        if self.folder is None:
            return {}
        found = call("read the zPod's VMs", retrieve, self.si, self.folder, vim.VirtualMachine,
                     VM_PROPERTIES, False)
        return {props["name"]: (vm, props) for vm, props in found}


def open_zpod(run) -> LiveZpod:
    """Load the job's zPod, components and parameters; log in; find the zPod's folder."""
    with run.ctx.sessions() as session:
        job = session.get(Job, run.job_id)
        zpod = session.get(Zpod, run.zpod_id)
        endpoint, components = zpod.endpoint, list(zpod.components)
        params = dict(job.params or {})
        session.expunge_all()
    si = run.ctx.vsphere(run.ctx.access(endpoint))
    place = vcenter.locate(si, endpoint, need_datastore=False)
    name = zpod_object_name(zpod.name)
    folder = vcenter.child_named(si, place.vm_folder, vim.Folder, name)
    return LiveZpod(zpod, endpoint, components, params, name, si, place, folder)
