"""Removing one component from a live zPod: its VM on vCenter, then its record.

The VM is looked up by its deterministic name before anything is done, so a
second delivery of the job finds it gone and only finishes the bookkeeping.
The component's row is deleted when the job succeeds, which frees its host
name and IP address for a later component.
"""

from __future__ import annotations

from sqlalchemy import delete

from services.deployer import vcenter
from services.deployer.live import open_zpod
from shared.events import EventKind
from shared.models import Component


class RemoveComponentFlow:
    title = "remove component"

    def run(self, run) -> None:
        live = open_zpod(run)
        component = live.component(live.params.get("hostname"))
        run.total_steps = 2
        hit = live.vms().get(component.vm_name)
        with run.step(f"power off {component.hostname}"):
            if hit is not None and hit[1].get("runtime.powerState") != "poweredOff":
                vcenter.power_off(live.si, [hit[0]])
                run.emit(EventKind.PROGRESS, f"{component.hostname}: powered off", run.percent())
        with run.step(f"destroy VM {component.vm_name}"):
            if hit is None:
                run.emit(EventKind.PROGRESS, f"{component.hostname}: VM '{component.vm_name}' "
                                             "already gone", run.percent())
            else:
                vcenter.destroy(live.si, [hit[0]], f"VM '{component.vm_name}'")
                run.emit(EventKind.PROGRESS, f"{component.hostname}: VM destroyed",
                         run.percent())

    def on_success(self, session, job) -> None:
        session.execute(delete(Component).where(
            Component.zpod_id == job.zpod_id, Component.hostname == job.params["hostname"]))

    def on_failure(self, session, job, message: str) -> None:
        for component in job.zpod.components:
            if component.hostname == (job.params or {}).get("hostname"):
                component.error = f"remove failed: {message}"
