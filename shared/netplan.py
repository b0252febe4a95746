"""Network plans for zPods: VLAN ids and /24 subnets, unique per endpoint.

Allocation inserts a row per value into `allocations`, whose unique
constraint (endpoint, kind, value) makes two concurrent requests unable to get
the same VLAN or subnet on either database: the loser's insert fails inside a
savepoint and it moves on to the next candidate.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.models import Allocation, Endpoint, Zpod
from shared.profiles import Profile

ZPOD_PREFIX = 24


class CapacityError(Exception):
    """The endpoint has no free VLAN id or subnet left."""


@dataclass(frozen=True)
class NetworkPlan:
    subnet: str
    vlan: int

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.ip_network(self.subnet)

    def host(self, octet: int) -> str:
        return str(self.network.network_address + octet)

    @property
    def gateway(self) -> str:
        return self.host(1)

    @property
    def dns(self) -> str:
        return self.host(1)

    @property
    def netmask(self) -> str:
        return str(self.network.netmask)


def parse_vlan_range(text: str) -> tuple[int, int]:
    low, sep, high = text.partition("-")
    low_id, high_id = int(low), int(high if sep else low)
    if not (1 <= low_id <= high_id <= 4094):
        raise ValueError("VLAN range must be 'LOW-HIGH' within 1-4094, low <= high")
    return low_id, high_id


def subnets(supernet: str) -> Iterator[str]:
    network = ipaddress.ip_network(supernet, strict=True)
    for subnet in network.subnets(new_prefix=ZPOD_PREFIX):
        yield str(subnet)


def _taken(session: Session, endpoint: Endpoint, kind: str) -> set[str]:
    return set(session.scalars(select(Allocation.value).where(
        Allocation.endpoint_id == endpoint.id, Allocation.kind == kind)))


def _take(session: Session, endpoint: Endpoint, zpod: Zpod, kind: str,
          candidates: Iterator[str]) -> str:
    taken = _taken(session, endpoint, kind)
    for value in candidates:
        if value in taken:
            continue
        try:
            with session.begin_nested():
                session.add(Allocation(endpoint_id=endpoint.id, zpod_id=zpod.id,
                                       kind=kind, value=value))
        except IntegrityError:
            continue  # taken by a concurrent request since we looked
        return value
    raise CapacityError(f"endpoint '{endpoint.name}' has no free {kind} left")


def vlans(endpoint: Endpoint) -> Iterator[str]:
    return (str(v) for v in range(endpoint.vlan_min, endpoint.vlan_max + 1))


def allocate(session: Session, endpoint: Endpoint, zpod: Zpod) -> NetworkPlan:
    """Reserve a VLAN id and a subnet for `zpod` (which must have an id)."""
    vlan = int(_take(session, endpoint, zpod, "vlan", vlans(endpoint)))
    subnet = _take(session, endpoint, zpod, "subnet", subnets(endpoint.supernet))
    return NetworkPlan(subnet=subnet, vlan=vlan)


def peek(session: Session, endpoint: Endpoint) -> tuple[str | None, int | None]:
    """(subnet, VLAN id) that `allocate` would pick now, None where none is free.

    Reserves nothing: a concurrent request may take them first, so a plan
    shows what allocation would pick, not a promise.
    """
    taken_vlans, taken_subnets = _taken(session, endpoint, "vlan"), _taken(session, endpoint,
                                                                           "subnet")
    vlan = next((v for v in vlans(endpoint) if v not in taken_vlans), None)
    subnet = next((s for s in subnets(endpoint.supernet) if s not in taken_subnets), None)
    return subnet, int(vlan) if vlan is not None else None


def room(session: Session, endpoint: Endpoint) -> dict[str, dict[str, int]]:
    """VLAN ids and subnets of the endpoint: total, used (by live zPods) and free."""
    sizes = {"vlans": ("vlan", endpoint.vlan_max - endpoint.vlan_min + 1),
             "subnets": ("subnet", 2 ** (ZPOD_PREFIX - ipaddress.ip_network(
                 endpoint.supernet).prefixlen))}
    result = {}
    for name, (kind, total) in sizes.items():
        used = len(_taken(session, endpoint, kind))
        result[name] = {"total": total, "used": used, "free": max(0, total - used)}
    return result


def release(session: Session, zpod: Zpod) -> None:
    session.execute(delete(Allocation).where(Allocation.zpod_id == zpod.id))


def plan_components(profile: Profile, zpod_name: str, plan: NetworkPlan | None) -> list[dict]:
    """The VMs of a zPod: names, addresses and sizing, in deployment order.

    Without a network plan (a zPod plan on an endpoint with no room) the
    addresses are None.
    """
    components = []
    for item in profile.items:
        for hostname, octet in item.expand():
            components.append({
                "hostname": hostname,
                "role": item.role,
                "ip": plan.host(octet) if plan is not None else None,
                "vm_name": f"nestlab-{zpod_name}-{hostname}",
                "stage": item.stage,
                "stage_index": item.stage_index,
                "spec": {
                    "component": item.component,
                    "template": item.template,
                    "wait_for_ip": item.wait_for_ip,
                    "properties": dict(item.properties),
                    "cpus": item.cpus,
                    "memory_mb": item.memory_mb,
                    "guest_id": item.guest_id,
                    "nested_hv": item.nested_hv,
                    "disks": [{"size_kb": d.size_kb, "thin": d.thin} for d in item.disks],
                },
            })
    return components
