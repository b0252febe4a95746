"""What the deployer does on vCenter, one idempotent operation per function.

Every `ensure_*` looks for the object by its deterministic name first and only
creates it when it is missing, so running a step twice changes nothing. Reads
go through the PropertyCollector (shared.vsphere.collector).
"""

from __future__ import annotations

from pyVmomi import vim

from shared.vsphere.collector import properties, retrieve, wait_for_tasks
from shared.vsphere.errors import NotFound

# Shared with the library service; the deployer's flows reach them as vcenter.<name>.
from shared.vsphere.inventory import Placement, child_named, ensure_folder, locate  # noqa: F401
from shared.vsphere.inventory import call as _call

POWERED_ON = vim.VirtualMachinePowerState.poweredOn


def ensure_pool(si, parent: vim.ResourcePool, name: str) -> vim.ResourcePool:
    pool = child_named(si, parent, vim.ResourcePool, name)
    if pool is not None:
        return pool

    def allocation():
        # The simulator (and old vCenters) want every field set, shares included.
        return vim.ResourceAllocationInfo(
            reservation=0, limit=-1, expandableReservation=True,
            shares=vim.SharesInfo(level=vim.SharesInfo.Level.normal, shares=0))

    spec = vim.ResourceConfigSpec(cpuAllocation=allocation(), memoryAllocation=allocation())
    return _call(f"create resource pool '{name}'", parent.CreateResourcePool, name, spec)


def find_portgroup(si, switch, name: str):
    groups = _call("read the switch's portgroups", properties, si, [switch],
                   vim.DistributedVirtualSwitch, ["portgroup"])
    candidates = next(iter(groups.values()), {}).get("portgroup") or []
    names = properties(si, candidates, vim.dvs.DistributedVirtualPortgroup, ["name", "key"])
    for pg in candidates:
        if names.get(pg._moId, {}).get("name") == name:
            return pg, names[pg._moId]["key"]
    return None, None


def portgroup_spec(name: str, vlan: int):
    allow = vim.BoolPolicy(inherited=False, value=True)
    port_config = vim.dvs.VmwareDistributedVirtualSwitch.VmwarePortConfigPolicy(
        vlan=vim.dvs.VmwareDistributedVirtualSwitch.VlanIdSpec(inherited=False, vlanId=vlan),
        securityPolicy=vim.dvs.VmwareDistributedVirtualSwitch.SecurityPolicy(
            inherited=False, allowPromiscuous=allow, forgedTransmits=allow, macChanges=allow),
    )
    return vim.dvs.DistributedVirtualPortgroup.ConfigSpec(
        name=name, type="earlyBinding", numPorts=16, autoExpand=True,
        defaultPortConfig=port_config)


def ensure_portgroup(si, switch, name: str, vlan: int):
    """The zPod's portgroup (VLAN, promiscuous, forged transmits, MAC changes allowed)."""
    pg, key = find_portgroup(si, switch, name)
    if pg is None:
        task = _call(f"create portgroup '{name}'", switch.AddDVPortgroup_Task,
                     [portgroup_spec(name, vlan)])
        wait_for_tasks(si, [task], f"create portgroup '{name}'")
        pg, key = find_portgroup(si, switch, name)
        if pg is None:
            raise NotFound(f"portgroup '{name}' missing right after it was created")
    return pg, key


def vms_in_folder(si, folder) -> dict[str, tuple]:
    """{name: (vm, power state)} of the VMs directly in `folder`."""
    found = _call("read the zPod's VMs", retrieve, si, folder, vim.VirtualMachine,
                  ["name", "runtime.powerState"], False)
    return {p["name"]: (vm, p.get("runtime.powerState")) for vm, p in found}


def power_on(si, vms: list) -> None:
    tasks = [_call("power on VM", vm.PowerOnVM_Task) for vm in vms]
    wait_for_tasks(si, tasks, "power on the zPod's VMs")


def power_off(si, vms: list) -> None:
    tasks = [_call("power off VM", vm.PowerOffVM_Task) for vm in vms]
    wait_for_tasks(si, tasks, "power off the zPod's VMs")


def destroy(si, objects: list, what: str) -> None:
    tasks = [_call(f"destroy {what}", obj.Destroy_Task) for obj in objects]
    wait_for_tasks(si, tasks, f"destroy {what}")
