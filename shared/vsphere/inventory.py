"""Finding an endpoint's objects on vCenter, and folders by name: used by every service.

`locate` names everything that is missing at once, so a person fixes an
endpoint in one go. Reads go through the PropertyCollector
(shared.vsphere.collector).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyVmomi import vim

from shared.vsphere.collector import content, retrieve, retrieve_types
from shared.vsphere.errors import NotFound, translate


@dataclass
class Placement:
    """The endpoint's objects a zPod (or a template) is built in."""

    datacenter: vim.Datacenter
    vm_folder: vim.Folder
    cluster: vim.ClusterComputeResource
    root_pool: vim.ResourcePool
    datastore: vim.Datastore | None
    datastore_name: str
    switch: vim.DistributedVirtualSwitch | None
    switch_uuid: str | None


def call(action: str, fn, *args, **kwargs):
    """Run one vSphere call, translating any failure into our typed errors."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - translated into a typed error
        raise translate(exc, action) from exc


def locate(si, endpoint, need_datastore: bool = True, need_switch: bool = True) -> Placement:
    """Find the endpoint's datacenter, cluster, datastore and switch; name all that is missing.

    Destroying needs no datastore, so a zPod can be cleaned up even when the
    endpoint's datastore is gone or was misnamed; staging a template needs no switch.
    """
    datacenters = call("read datacenters", retrieve, si, content(si).rootFolder, vim.Datacenter,
                       ["name", "vmFolder"])
    dc = next(((obj, p) for obj, p in datacenters if p["name"] == endpoint.datacenter), None)
    if dc is None:
        known = ", ".join(sorted(p["name"] for _, p in datacenters)) or "none"
        raise NotFound(f"datacenter '{endpoint.datacenter}' not found (found: {known})")
    dc_obj, dc_props = dc
    found = call("read the datacenter inventory", retrieve_types, si, dc_obj, {
        vim.ClusterComputeResource: ["name", "resourcePool"],
        vim.Datastore: ["name"],
        vim.DistributedVirtualSwitch: ["name", "uuid"],
    })

    def pick(vimtype, name):
        return next(((o, p) for o, p in found if isinstance(o, vimtype) and p["name"] == name),
                    None)

    cluster = pick(vim.ClusterComputeResource, endpoint.cluster)
    datastore = pick(vim.Datastore, endpoint.datastore)
    switch = pick(vim.DistributedVirtualSwitch, endpoint.switch)
    missing = [f"{label} '{name}'" for label, name, hit in (
        ("cluster", endpoint.cluster, cluster),
        ("datastore", endpoint.datastore, datastore if need_datastore else True),
        ("distributed switch", endpoint.switch, switch if need_switch else True),
    ) if hit is None]
    if missing:
        raise NotFound(f"not found in datacenter '{endpoint.datacenter}': " + ", ".join(missing))
    return Placement(
        datacenter=dc_obj, vm_folder=dc_props["vmFolder"],
        cluster=cluster[0], root_pool=cluster[1]["resourcePool"],
        datastore=datastore[0] if datastore else None, datastore_name=endpoint.datastore,
        switch=switch[0] if switch else None, switch_uuid=switch[1]["uuid"] if switch else None,
    )


def child_named(si, parent, vimtype, name: str):
    hits = [obj for obj, p in call(f"look up '{name}'", retrieve, si, parent, vimtype, ["name"],
                                   False) if p.get("name") == name]
    return hits[0] if hits else None


def ensure_folder(si, parent: vim.Folder, name: str) -> vim.Folder:
    folder = child_named(si, parent, vim.Folder, name)
    if folder is None:
        folder = call(f"create folder '{name}'", parent.CreateFolder, name)
    return folder
