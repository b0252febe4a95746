"""Reads the simulator with plain pyvmomi, independently of the deployer's code,
so tests check what really exists in vCenter."""

from __future__ import annotations

from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim


class Inspector:
    def __init__(self, sim):
        self.si = SmartConnect(host=sim.host, port=sim.port, user=sim.username,
                               pwd=sim.password, disableSslCertValidation=True)
        self.content = self.si.RetrieveContent()
        self.dc = next(e for e in self.content.rootFolder.childEntity if e.name == "DC0")

    def close(self):
        Disconnect(self.si)

    def all_of(self, vimtype):
        view = self.content.viewManager.CreateContainerView(self.content.rootFolder,
                                                            [vimtype], True)
        try:
            return list(view.view)
        finally:
            view.Destroy()

    def named(self, vimtype, name):
        return [obj for obj in self.all_of(vimtype) if obj.name == name]

    def folder(self, name):
        return [f for f in self.dc.vmFolder.childEntity
                if isinstance(f, vim.Folder) and f.name == name]

    def pool(self, name):
        cluster = next(c for c in self.dc.hostFolder.childEntity if c.name == "DC0_C0")
        return [p for p in cluster.resourcePool.resourcePool if p.name == name]

    def portgroup(self, name):
        dvs = next(n for n in self.dc.networkFolder.childEntity
                   if isinstance(n, vim.DistributedVirtualSwitch) and n.name == "DVS0")
        return [pg for pg in dvs.portgroup if pg.name == name]

    def vms_named(self, prefix):
        return [vm for vm in self.all_of(vim.VirtualMachine) if vm.name.startswith(prefix)]

    def make_standard_portgroup(self, name):
        host = self.all_of(vim.HostSystem)[0]
        spec = vim.host.PortGroup.Specification(
            name=name, vlanId=0, vswitchName="vSwitch0", policy=vim.host.NetworkPolicy())
        host.configManager.networkSystem.AddPortGroup(spec)


def extra_config(vm) -> dict:
    """extraConfig as a dict; the simulator appends on reconfigure, so the last value wins."""
    values = {}
    for option in vm.config.extraConfig:
        values[option.key] = option.value
    return values
