"""What a zPod request would make, without making it: `POST /api/v1/zpods/plan`.

A plan runs every check `create_zpod` runs (the merged configuration, the
name, quotas, the endpoint's capacity, a free VLAN id and subnet) but collects
every problem instead of stopping at the first, and reserves nothing. It
shows the merged document, the network and addresses allocation would pick
now, and the vSphere objects the deployer would create, in order.
"""

from __future__ import annotations

from sqlalchemy import select

from services.api import capacity, quotas
from services.api.schemas import ZPOD_NAME, ZPOD_NAME_RULE
from services.api.zpod_requests import Resolution, resolve
from shared.models import User, Zpod
from shared.netplan import NetworkPlan, peek, plan_components
from shared.profiles import GIB
from shared.settings import Settings


def object_name(zpod_name: str) -> str:
    """The folder, resource pool and portgroup of a zPod (see services/deployer/flows.py)."""
    return f"nestlab-{zpod_name}"


def _check_name(session, name: str, result: Resolution) -> None:
    if not ZPOD_NAME.match(name):
        result.problem("name", ZPOD_NAME_RULE)
    elif session.scalar(select(Zpod.id).where(Zpod.live_name == name)):
        result.problem("name", f"a zPod named '{name}' already exists")


def _network(session, result: Resolution) -> NetworkPlan | None:
    subnet, vlan = peek(session, result.endpoint)
    if vlan is None:
        result.problem("network", f"endpoint '{result.endpoint.name}' has no free vlan left")
    if subnet is None:
        result.problem("network", f"endpoint '{result.endpoint.name}' has no free subnet left")
    if subnet is None or vlan is None:
        return None
    return NetworkPlan(subnet=subnet, vlan=vlan)


def _network_view(plan: NetworkPlan | None) -> dict | None:
    if plan is None:
        return None
    return {"subnet": plan.subnet, "vlan": plan.vlan, "gateway": plan.gateway,
            "netmask": plan.netmask, "dns": plan.dns}


def _capacity(session, result: Resolution, settings: Settings, warnings: list) -> dict:
    document = capacity.figures(session, result.endpoint, settings)
    needed, free = capacity.needed_and_free(document, capacity.profile_sizing(result.profile))
    short = capacity.shortfalls(needed, free)
    # VLAN ids and subnets are reported under "network" (see _network).
    sized = {name: f for name, f in short.items() if name not in capacity.COUNTED}
    for message in capacity.describe(sized):
        result.problem("capacity", message)
    if not document["known"]:
        warnings.append(capacity.UNKNOWN)
    elif free["vcpus"] is not None and needed["vcpus"] > free["vcpus"]:
        warnings.append(f"cpu: needs {needed['vcpus']} vCPUs, {free['vcpus']} free at "
                        f"{settings.capacity_cpu_overcommit}:1 overcommit (not enforced)")
    return {"known": document["known"], "read_at": document["read_at"], "needed": needed,
            "free": free, "fits": not short}


def _components(profile, name: str, domain: str, network: NetworkPlan | None) -> list[dict]:
    planned = plan_components(profile, name, network)
    return [{
        "hostname": c["hostname"], "fqdn": f"{c['hostname']}.{domain}", "ip": c["ip"],
        "role": c["role"], "stage": c["stage"], "vm_name": c["vm_name"],
        "cpus": c["spec"]["cpus"], "memory_mb": c["spec"]["memory_mb"],
        "disks": [{"size_gb": d["size_kb"] // GIB, "thin": d["thin"]}
                  for d in c["spec"]["disks"]],
        "component": c["spec"]["component"],
    } for c in planned]


def _objects(name: str, components: list[dict]) -> list[dict]:
    """The deployer's creations in its order: folder, pool, portgroup, then VMs by stage."""
    shared = object_name(name)
    return ([{"kind": kind, "name": shared, "stage": None}
             for kind in ("folder", "resource_pool", "portgroup")]
            + [{"kind": "vm", "name": c["vm_name"], "stage": c["stage"]} for c in components])


def plan_zpod(session, user: User, data: dict, settings: Settings) -> dict:
    """The plan of a zPod request; every problem listed, nothing written."""
    result = resolve(session, data)
    _check_name(session, data["name"], result)
    warnings: list[str] = []
    network, capacity_view = None, None
    for message in quotas.exceeded(session, user, result.profile):
        result.problem("quota", message)
    if result.endpoint is not None:
        network = _network(session, result)
        if result.profile is not None:
            capacity_view = _capacity(session, result, settings, warnings)
    components = []
    if result.profile is not None:
        components = _components(result.profile, data["name"],
                                 f"{data['name']}.{settings.domain}", network)
    return {
        "ok": result.ok, "problems": result.problems, "warnings": warnings,
        "config": result.document, "network": _network_view(network),
        "components": components, "objects": _objects(data["name"], components) if components
        else [], "capacity": capacity_view,
    }
