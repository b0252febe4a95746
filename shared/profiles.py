"""zPod profiles: what VMs a zPod has, in which stages, and how big they are.

A profile is a document (stored in the `profiles` table, edited through the
API in JSON or YAML) with ordered stages of component items; each item gives a
role, a hostname (with `{n}` for counted items), its address inside the zPod's
/24, and its sizing. `profile_from_document` turns a validated document into
the typed form the planner uses. `minimal` is seeded by a migration as an
ordinary, editable profile.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from shared.models import ProfileRecord

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
    component: str | None = None
    stage: str = "main"
    stage_index: int = 0
    # OVF properties (rendered with the zPod's variables) and how to get the VM:
    # "auto" clones the endpoint's staged template when there is one, else imports
    # the OVA; "stage" stages the template first; "never" always imports.
    properties: tuple[tuple[str, str], ...] = ()
    template: str = "auto"
    wait_for_ip: bool | None = None

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


MINIMAL_DOCUMENT = {
    "name": "minimal",
    "description": "A router/DNS VM and 3 nested ESXi hosts.",
    "stages": [
        {"name": "network", "items": [
            {"role": "router", "hostname": "router", "host_octet": 1, "cpus": 1,
             "memory_mb": 1024, "guest_id": "otherLinux64Guest",
             "disks": [{"size_gb": 4}]},
        ]},
        {"name": "hosts", "items": [
            {"role": "esxi", "hostname": "esxi{n}", "host_octet": 10, "count": 3, "cpus": 4,
             "memory_mb": 16384, "guest_id": "vmkernel7Guest", "nested_hv": True,
             "disks": [{"size_gb": 8, "thin": False}, {"size_gb": 40, "thin": True}]},
        ]},
    ],
}


def profile_from_document(document: dict) -> Profile:
    """The typed profile of a document already validated by its schema."""
    items = []
    for index, stage in enumerate(document["stages"]):
        for item in stage["items"]:
            items.append(Item(
                role=item["role"], hostname=item["hostname"], host_octet=item["host_octet"],
                count=item.get("count", 1), cpus=item.get("cpus", 1),
                memory_mb=item.get("memory_mb", 1024),
                guest_id=item.get("guest_id", "otherLinux64Guest"),
                nested_hv=item.get("nested_hv", False),
                disks=tuple(Disk(d["size_gb"] * GIB, d.get("thin", True))
                            for d in item.get("disks", [])),
                component=item.get("component"), stage=stage["name"], stage_index=index,
                properties=tuple(sorted((item.get("properties") or {}).items())),
                template=item.get("template", "auto"), wait_for_ip=item.get("wait_for_ip")))
    return Profile(document["name"], document.get("description", ""), tuple(items))


MINIMAL = profile_from_document(MINIMAL_DOCUMENT)


def load_profile(session, name: str) -> Profile | None:
    """The stored profile named `name`, typed; None when there is none."""
    record = session.scalar(select(ProfileRecord).where(ProfileRecord.name == name))
    return profile_from_document(record.document) if record is not None else None


def profile_names(session) -> list[str]:
    return list(session.scalars(select(ProfileRecord.name).order_by(ProfileRecord.name)))
