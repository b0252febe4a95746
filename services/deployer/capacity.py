"""Reading an endpoint's capacity from vCenter and keeping it on the endpoint.

The API admits zPods against these figures without calling vCenter itself
(services/api/capacity.py). They are read when an endpoint is verified and
every `settings.capacity_refresh_interval` seconds by the beat task
`deployer.refresh_capacity`, in one PropertyCollector call: the cluster's
total CPU (MHz), cores, memory and host count, the datastore's capacity, free
space and uncommitted space (what thin disks may still grow by). Beside them
goes the size of the disks of nestlab VMs that existed when they were read,
so the API does not count those twice.
"""

from __future__ import annotations

import logging

from pyVmomi import vim
from sqlalchemy import select

from shared.db import transaction
from shared.models import Component, Endpoint, Zpod, utcnow
from shared.vsphere.collector import properties_by_type
from shared.vsphere.errors import TransientError, VsphereError
from shared.vsphere.inventory import Placement, call, locate

log = logging.getLogger(__name__)

CLUSTER = ["summary.totalCpu", "summary.numCpuCores", "summary.totalMemory", "summary.numHosts"]
DATASTORE = ["summary.capacity", "summary.freeSpace", "summary.uncommitted"]


def read(si, place: Placement) -> dict:
    """The figures of the endpoint's cluster and datastore (bytes, MHz, counts)."""
    found = call("read the cluster's and the datastore's capacity", properties_by_type, si,
                 [place.cluster, place.datastore],
                 {vim.ClusterComputeResource: CLUSTER, vim.Datastore: DATASTORE})
    cluster, datastore = found[place.cluster._moId], found[place.datastore._moId]
    return {
        "cpu_mhz": cluster.get("summary.totalCpu"),
        "cpu_cores": cluster.get("summary.numCpuCores"),
        "memory_bytes": cluster.get("summary.totalMemory"),
        "hosts": cluster.get("summary.numHosts"),
        "storage_capacity_bytes": datastore.get("summary.capacity"),
        "storage_free_bytes": datastore.get("summary.freeSpace"),
        # What thin disks may still grow by, so free space can be judged in the worst case.
        "storage_uncommitted_bytes": datastore.get("summary.uncommitted") or 0,
    }


def disks_on_datastore(session, endpoint_id: int) -> int:
    """Bytes of the planned disks of nestlab VMs that exist on vCenter now: the datastore's
    free space (less uncommitted) already accounts for them."""
    specs = session.scalars(select(Component.spec).join(Zpod).where(
        Zpod.endpoint_id == endpoint_id, Zpod.live_name.is_not(None),
        Component.moref.is_not(None)))
    return sum(disk.get("size_kb", 0) for spec in specs for disk in spec.get("disks", [])) * 1024


def store(sessions, endpoint_id: int, figures: dict) -> None:
    with transaction(sessions) as session:
        endpoint = session.get(Endpoint, endpoint_id)
        figures = {**figures, "nestlab_disk_bytes": disks_on_datastore(session, endpoint_id)}
        endpoint.capacity, endpoint.capacity_at = figures, utcnow()


def refresh(ctx, endpoint: Endpoint) -> None:
    si = ctx.vsphere(ctx.access(endpoint))
    store(ctx.sessions, endpoint.id, read(si, locate(si, endpoint)))


def refresh_all(ctx) -> int:
    """Re-read every verified endpoint; one that fails keeps its last figures (and
    their time) and is tried again next round. Returns how many were read."""
    with ctx.sessions() as session:
        endpoints = list(session.scalars(select(Endpoint).where(Endpoint.status == "ok")
                                         .order_by(Endpoint.id)))
        session.expunge_all()
    done = 0
    for endpoint in endpoints:
        try:
            refresh(ctx, endpoint)
            done += 1
        except VsphereError as exc:
            if isinstance(exc, TransientError):
                ctx.forget_vsphere()
            log.warning("could not read the capacity of endpoint '%s': %s", endpoint.name, exc)
    return done
