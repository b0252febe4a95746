"""Building one zPod VM on vCenter: create, clone or import, reconfigure, power on, wait for IP.

A VM comes from one of three sources:

* no library component: an empty VM made with CreateVM (sizing, disks, NIC);
* a template staged on the endpoint: CloneVM with the whole reconfiguration
  (sizing, disks grown or added, NICs on the zPod portgroup, nested hardware
  virtualization, properties) in the clone's ConfigSpec: one task;
* otherwise the component's OVA, imported through the NFC lease with its
  networks mapped to the zPod portgroup, then reconfigured.

Properties (OVF properties rendered from the zPod's variables) are written to
the VM's vApp properties it declares and to extraConfig, where appliances such
as nested ESXi read `guestinfo.*` keys.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyVmomi import vim

from shared.vsphere.collector import properties, wait_for_tasks, watch
from shared.vsphere.errors import PermanentError
from shared.vsphere.inventory import call

DEVICE_PROPS = ["config.hardware.device", "config.vAppConfig", "config.hardware.numCPU",
                "config.hardware.memoryMB", "config.nestedHVEnabled"]


@dataclass(frozen=True)
class Target:
    """Where a zPod's VMs go, as recorded by the deploy job (morefs, no lookups)."""

    folder: vim.Folder
    pool: vim.ResourcePool
    datastore: vim.Datastore | None
    datastore_name: str
    portgroup: vim.dvs.DistributedVirtualPortgroup
    portgroup_key: str
    switch_uuid: str

    @classmethod
    def from_record(cls, si, record: dict) -> Target:
        stub = si._stub
        return cls(
            folder=vim.Folder(record["folder"], stub),
            pool=vim.ResourcePool(record["pool"], stub),
            datastore=vim.Datastore(record["datastore"], stub) if record.get("datastore")
            else None,
            datastore_name=record["datastore_name"],
            portgroup=vim.dvs.DistributedVirtualPortgroup(record["portgroup"], stub),
            portgroup_key=record["portgroup_key"], switch_uuid=record["switch_uuid"])

    def nic_backing(self):
        return vim.vm.device.VirtualEthernetCard.DistributedVirtualPortBackingInfo(
            port=vim.dvs.PortConnection(switchUuid=self.switch_uuid,
                                        portgroupKey=self.portgroup_key))


def _device(device, operation="add", file_operation=None):
    change = vim.vm.device.VirtualDeviceSpec(operation=operation, device=device)
    if file_operation:
        change.fileOperation = file_operation
    return change


def _connected():
    return vim.vm.device.VirtualDevice.ConnectInfo(startConnected=True, allowGuestControl=True,
                                                   connected=True)


def _options(values: dict[str, str]) -> list:
    return [vim.option.OptionValue(key=k, value=v) for k, v in values.items()]


def new_vm_config(name: str, spec: dict, target: Target, extra: dict[str, str]):
    """A ConfigSpec for an empty VM: sizing, PVSCSI disks, a vmxnet3 NIC, extraConfig."""
    devices = [_device(vim.vm.device.ParaVirtualSCSIController(
        key=-100, busNumber=0, sharedBus="noSharing"))]
    for index, disk in enumerate(spec["disks"]):
        backing = vim.vm.device.VirtualDisk.FlatVer2BackingInfo(
            diskMode="persistent", thinProvisioned=disk["thin"], fileName="")
        devices.append(_device(vim.vm.device.VirtualDisk(
            key=-101 - index, controllerKey=-100, unitNumber=index,
            capacityInKB=disk["size_kb"], backing=backing), file_operation="create"))
    devices.append(_device(vim.vm.device.VirtualVmxnet3(
        key=-200, backing=target.nic_backing(), addressType="generated",
        connectable=_connected())))
    return vim.vm.ConfigSpec(
        name=name, numCPUs=spec["cpus"], numCoresPerSocket=spec["cpus"],
        memoryMB=spec["memory_mb"], guestId=spec["guest_id"], nestedHVEnabled=spec["nested_hv"],
        files=vim.vm.FileInfo(vmPathName=f"[{target.datastore_name}]"),
        extraConfig=_options(extra), deviceChange=devices)


def reconfig_spec(spec: dict, target: Target, devices: list, vapp, extra: dict[str, str],
                  rendered: dict[str, str]):
    """The ConfigSpec that turns a cloned or imported VM into the zPod's component.

    Disks the profile sizes larger than the source's are grown, missing ones
    added (never shrunk); every NIC goes onto the zPod portgroup (one is added
    when the source has none); declared vApp properties get their values.
    """
    changes, used = [], set()
    disks = [d for d in devices if isinstance(d, vim.vm.device.VirtualDisk)]
    for index, wanted in enumerate(spec["disks"]):
        if index < len(disks):
            if wanted["size_kb"] > (disks[index].capacityInKB or 0):
                disks[index].capacityInKB = wanted["size_kb"]
                changes.append(_device(disks[index], "edit"))
        else:
            changes.append(_new_disk(devices, disks, wanted, -300 - index, used))
    nics = [d for d in devices if isinstance(d, vim.vm.device.VirtualEthernetCard)]
    for nic in nics:
        nic.backing, nic.connectable = target.nic_backing(), _connected()
        changes.append(_device(nic, "edit"))
    if not nics:
        changes.append(_device(vim.vm.device.VirtualVmxnet3(
            key=-200, backing=target.nic_backing(), addressType="generated",
            connectable=_connected())))
    config = vim.vm.ConfigSpec(
        numCPUs=spec["cpus"], numCoresPerSocket=spec["cpus"], memoryMB=spec["memory_mb"],
        nestedHVEnabled=spec["nested_hv"], extraConfig=_options(extra), deviceChange=changes)
    declared = [p for p in (getattr(vapp, "property", None) or []) if p.id in rendered]
    if declared:
        config.vAppConfig = vim.vApp.VmConfigSpec(property=[
            vim.vApp.PropertySpec(operation="edit", info=vim.vApp.PropertyInfo(
                key=p.key, value=rendered[p.id])) for p in declared])
    return config


def _new_disk(devices: list, disks: list, wanted: dict, key: int, taken: set):
    """A new disk on the first disk's controller, at a free unit (`taken` grows)."""
    if disks:
        controller = disks[0].controllerKey
    else:
        controller = next((d.key for d in devices
                           if isinstance(d, vim.vm.device.VirtualSCSIController)), None)
    if controller is None:
        raise PermanentError("the source VM has no disk controller to attach a new disk to")
    used = {d.unitNumber for d in devices if getattr(d, "controllerKey", None) == controller}
    unit = next(n for n in range(0, 64) if n not in used | taken and n != 7)
    taken.add(unit)
    backing = vim.vm.device.VirtualDisk.FlatVer2BackingInfo(
        diskMode="persistent", thinProvisioned=wanted["thin"], fileName="")
    return _device(vim.vm.device.VirtualDisk(
        key=key, controllerKey=controller, unitNumber=unit, capacityInKB=wanted["size_kb"],
        backing=backing), file_operation="create")


def hardware(si, vm) -> dict:
    """The VM's (or template's) devices, vApp config and sizing, in one call."""
    return call("read the VM's hardware", properties, si, [vm], vim.VirtualMachine,
                DEVICE_PROPS)[vm._moId]


def devices_of(found: dict) -> tuple[list, object]:
    return list(found.get("config.hardware.device") or []), found.get("config.vAppConfig")


def matches(found: dict, spec: dict, target: Target) -> bool:
    """Whether a VM already has the component's sizing, disks and network (a clone on a
    real vCenter does; the simulator ignores a clone's ConfigSpec)."""
    if (found.get("config.hardware.numCPU"), found.get("config.hardware.memoryMB"),
            bool(found.get("config.nestedHVEnabled"))) != (
            spec["cpus"], spec["memory_mb"], bool(spec["nested_hv"])):
        return False
    devices = found.get("config.hardware.device") or []
    disks = [d.capacityInKB or 0 for d in devices if isinstance(d, vim.vm.device.VirtualDisk)]
    if len(disks) < len(spec["disks"]) or any(
            have < want["size_kb"] for have, want in zip(disks, spec["disks"], strict=False)):
        return False
    nics = [d for d in devices if isinstance(d, vim.vm.device.VirtualEthernetCard)]
    return bool(nics) and all(
        getattr(getattr(n.backing, "port", None), "portgroupKey", None) == target.portgroup_key
        for n in nics)


def create(si, name: str, target: Target, config) -> vim.VirtualMachine:
    task = call(f"create VM '{name}'", target.folder.CreateVM_Task, config=config,
                pool=target.pool)
    return task_result(si, task, f"create VM '{name}'")


def clone(si, template, name: str, target: Target, config) -> vim.VirtualMachine:
    spec = vim.vm.CloneSpec(
        location=vim.vm.RelocateSpec(pool=target.pool, datastore=target.datastore),
        config=config, powerOn=False, template=False)
    task = call(f"clone '{name}'", template.CloneVM_Task, folder=target.folder, name=name,
                spec=spec)
    return task_result(si, task, f"clone '{name}'")


def reconfigure(si, vm, config, name: str) -> None:
    task = call(f"reconfigure '{name}'", vm.ReconfigVM_Task, spec=config)
    wait_for_tasks(si, [task], f"reconfigure '{name}'")


def power_on(si, vm, name: str) -> None:
    task = call(f"power on '{name}'", vm.PowerOnVM_Task)
    wait_for_tasks(si, [task], f"power on '{name}'")


def task_result(si, task, action: str):
    """Wait for one task and return its result (e.g. the new VM), read with its state."""
    return wait_for_tasks(si, [task], action)[task._moId]


def wait_for_ip(si, vm, name: str, timeout: float) -> str:
    """The IP address the guest reports, waited for with WaitForUpdatesEx (no polling)."""
    found = call(f"watch '{name}' for its IP address", watch, si, [vm], vim.VirtualMachine,
                 ["guest.ipAddress"], lambda state: bool(state.get("guest.ipAddress")), timeout)
    if vm._moId not in found:
        raise PermanentError(
            f"'{name}' did not report an IP address within {timeout:.0f}s (is VMware Tools "
            f"running in the guest, and does its network come up on the zPod portgroup?)")
    return found[vm._moId]["guest.ipAddress"]
