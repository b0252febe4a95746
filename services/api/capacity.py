"""How much room an endpoint has for zPods, and whether a new one fits.

The deployer reads the cluster's and the datastore's figures from vCenter
(services/deployer/capacity.py) and stores them on the endpoint; the API never
calls vCenter. What nestlab's live zPods hold is what they were planned with
(their components' sizing in the database), counted in full whatever the VMs
really use: nested ESXi hosts may use all their memory, thin disks may grow to
their full size. "Free" is the vCenter figure, times its overcommit ratio
(settings), minus what nestlab holds:

* CPU: cores x `capacity_cpu_overcommit` vCPUs (MHz: a vCPU counts one core's);
* memory: the cluster's memory x `capacity_memory_overcommit`;
* storage: the datastore's free space when read, less its uncommitted space
  (what thin disks may still grow by), x `capacity_storage_overcommit`, minus
  the disks of nestlab zPods whose VMs did not exist yet when it was read
  (those that existed are in the datastore's figures already). Every disk,
  thin or not, counts at its full size: the worst case.

Admission refuses a zPod short of memory, storage, a VLAN id or a subnet; a
CPU shortfall is only a warning (vCPUs are overcommitted by design).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flask_smorest import abort
from sqlalchemy import select

from shared.models import Component, Endpoint, Zpod
from shared.netplan import room
from shared.profiles import Profile
from shared.settings import Settings

MIB = 1 << 20
GIB = 1 << 30
KIB_PER_GIB = 1 << 20

UNKNOWN = "capacity unknown: verify the endpoint"


@dataclass(frozen=True)
class Sizing:
    """vCPUs, memory and disk a set of VMs asks for, in full."""

    vcpus: int = 0
    memory_mb: int = 0
    storage_gb: float = 0.0

    def __add__(self, other: Sizing) -> Sizing:
        return Sizing(self.vcpus + other.vcpus, self.memory_mb + other.memory_mb,
                      self.storage_gb + other.storage_gb)


def spec_sizing(spec: dict) -> Sizing:
    """The sizing of one planned VM (a component's `spec`)."""
    disk_kb = sum(disk.get("size_kb", 0) for disk in spec.get("disks", []))
    return Sizing(spec.get("cpus", 0), spec.get("memory_mb", 0), disk_kb / KIB_PER_GIB)


def profile_sizing(profile: Profile) -> Sizing:
    total = Sizing()
    for item in profile.items:
        disk_kb = sum(disk.size_kb for disk in item.disks)
        one = Sizing(item.cpus, item.memory_mb, disk_kb / KIB_PER_GIB)
        for _ in item.expand():
            total += one
    return total


def held(session, endpoint: Endpoint) -> Sizing:
    """What the endpoint's live zPods were planned with."""
    specs = session.scalars(select(Component.spec).join(Zpod).where(
        Zpod.endpoint_id == endpoint.id, Zpod.live_name.is_not(None)))
    total = Sizing()
    for spec in specs:
        total += spec_sizing(spec)
    return total


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def _whole(value: float | None) -> int | None:
    """Whole units (MB, MHz, vCPUs), rounded down: a part of one is not free."""
    return None if value is None else math.floor(value)


def figures(session, endpoint: Endpoint, settings: Settings) -> dict:
    """The endpoint's capacity document: vCenter's totals, what nestlab holds, what is free."""
    known = endpoint.capacity or {}
    used = held(session, endpoint)
    cores, mhz = known.get("cpu_cores"), known.get("cpu_mhz")
    memory_mb = known["memory_bytes"] / MIB if "memory_bytes" in known else None
    datastore_free = ((known["storage_free_bytes"] - known.get("storage_uncommitted_bytes", 0))
                      / GIB if "storage_free_bytes" in known else None)
    pending_gb = max(0.0, used.storage_gb - known.get("nestlab_disk_bytes", 0) / GIB)
    per_core = mhz / cores if mhz and cores else None

    def free(total, ratio, taken):
        return None if total is None else total * ratio - taken

    cpu_ratio, mem_ratio = settings.capacity_cpu_overcommit, settings.capacity_memory_overcommit
    disk_ratio = settings.capacity_storage_overcommit
    return {
        "endpoint": endpoint.name,
        "known": bool(known),
        "read_at": endpoint.capacity_at,
        "cluster": endpoint.cluster,
        "datastore": endpoint.datastore,
        "hosts": known.get("hosts"),
        "cpu": {
            "total_mhz": mhz, "total_cores": cores, "overcommit": cpu_ratio,
            "held_vcpus": used.vcpus,
            "held_mhz": _whole(used.vcpus * per_core if per_core else None),
            "free_vcpus": _whole(free(cores, cpu_ratio, used.vcpus)),
            "free_mhz": _whole(free(mhz, cpu_ratio, used.vcpus * (per_core or 0))),
        },
        "memory": {
            "total_mb": _whole(memory_mb), "overcommit": mem_ratio,
            "held_mb": used.memory_mb,
            "free_mb": _whole(free(memory_mb, mem_ratio, used.memory_mb)),
        },
        "storage": {
            "total_gb": _round(known["storage_capacity_bytes"] / GIB
                               if "storage_capacity_bytes" in known else None),
            "datastore_free_gb": _round(datastore_free), "overcommit": disk_ratio,
            "held_gb": _round(used.storage_gb), "pending_gb": _round(pending_gb),
            "free_gb": _round(free(datastore_free, disk_ratio, pending_gb)),
        },
        **room(session, endpoint),
    }


def needed_and_free(document: dict, sizing: Sizing, networks: int = 1) -> tuple[dict, dict]:
    """What `sizing` more (with `networks` new VLAN ids and subnets) needs, and what
    is free, by resource."""
    needed = {"vcpus": sizing.vcpus, "memory_mb": sizing.memory_mb,
              "storage_gb": _round(sizing.storage_gb), "vlans": networks, "subnets": networks}
    free = {"vcpus": document["cpu"]["free_vcpus"], "memory_mb": document["memory"]["free_mb"],
            "storage_gb": document["storage"]["free_gb"],
            "vlans": document["vlans"]["free"], "subnets": document["subnets"]["free"]}
    return needed, free


# Resources admission enforces: (key in needed/free, name, unit).
ENFORCED = (("memory_mb", "memory", "MB"), ("storage_gb", "storage", "GB"),
            ("vlans", "vlans", "VLAN ids"), ("subnets", "subnets", "subnets"))


def shortfalls(needed: dict, free: dict) -> dict[str, dict]:
    """{resource: {needed, free, unit}} for every enforced resource that does not fit.

    A resource whose free figure is unknown (endpoint never verified) fits.
    """
    short = {}
    for key, name, unit in ENFORCED:
        if free[key] is not None and needed[key] > free[key]:
            short[name] = {"needed": needed[key], "free": max(free[key], 0), "unit": unit}
    return short


COUNTED = {"vlans": "vlan", "subnets": "subnet"}


def describe(short: dict[str, dict]) -> list[str]:
    return [f"no free {COUNTED[name]} left" if name in COUNTED
            else f"{name}: needs {f['needed']} {f['unit']}, {f['free']} {f['unit']} free"
            for name, f in short.items()]


def check(session, endpoint: Endpoint, profile: Profile, settings: Settings,
          what: str = "this zPod", networks: int = 1) -> None:
    """409 with the figures when `profile`'s VMs (a new zPod's, with its own network,
    or components added to a live one, `networks=0`) do not fit on the endpoint."""
    document = figures(session, endpoint, settings)
    short = shortfalls(*needed_and_free(document, profile_sizing(profile), networks))
    if short:
        abort(409, message=f"endpoint '{endpoint.name}' has no room for {what}: "
                           + "; ".join(describe(short)), errors=short)
