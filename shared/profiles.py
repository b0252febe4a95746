"""Built-in zPod profiles: what VMs a zPod has and how big they are.

A profile lists component items; each item gives a role, a hostname (with
`{n}` for counted items), its address inside the zPod's /24, and its sizing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

GIB = 1024 * 1024  # in KiB, the unit vSphere sizes disks in


@dataclass(frozen=True)
class Disk:
    size_kb: int
    thin: bool = True


@dataclass(frozen=True)
class Item:
    role: str
    hostname: str
    host_octet: int
    count: int = 1
    cpus: int = 1
    memory_mb: int = 1024
    guest_id: str = "otherLinux64Guest"
    nested_hv: bool = False
    disks: tuple[Disk, ...] = ()

    def expand(self) -> list[tuple[str, int]]:
        """(hostname, last octet) of every VM this item stands for."""
        if self.count == 1 and "{n}" not in self.hostname:
            return [(self.hostname, self.host_octet)]
        return [(self.hostname.format(n=n), self.host_octet + n) for n in range(1, self.count + 1)]


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    items: tuple[Item, ...] = field(default_factory=tuple)


MINIMAL = Profile(
    name="minimal",
    description="A router/DNS VM and 3 nested ESXi hosts.",
    items=(
        Item(role="router", hostname="router", host_octet=1, cpus=1, memory_mb=1024,
             guest_id="otherLinux64Guest", disks=(Disk(4 * GIB),)),
        Item(role="esxi", hostname="esxi{n}", host_octet=10, count=3, cpus=4,
             memory_mb=16 * 1024, guest_id="vmkernel7Guest", nested_hv=True,
             disks=(Disk(8 * GIB, thin=False), Disk(40 * GIB, thin=True))),
    ),
)

PROFILES: dict[str, Profile] = {MINIMAL.name: MINIMAL}
