"""The drift check: what vCenter has for a zPod against what nestlab recorded.

A report, not a repair: every difference is an event of kind `drift` and an
entry of the job's `result["drift"]`, and the job succeeds whatever it finds.
One PropertyCollector read covers the VMs of the zPod's folder (name, power
state, vCPUs, memory). The expected power state is the one nestlab last set
(`components.power_state`; powered on after a deploy), so a VM stopped
through nestlab is not drift but one stopped behind its back is.
"""

from __future__ import annotations

from services.deployer import vcenter
from services.deployer.live import LiveZpod, open_zpod
from shared.db import transaction
from shared.events import EventKind
from shared.models import Component, Job

# Component statuses that mean "its VM was made" (others were never built).
BUILT = ("created", "running", "ready")


def drift(kind: str, message: str, hostname: str | None = None, expected=None,
          actual=None) -> dict:
    return {"kind": kind, "hostname": hostname, "expected": expected, "actual": actual,
            "message": message}


def infrastructure_drift(live: LiveZpod) -> list[dict]:
    found = []
    if live.folder is None:
        found.append(drift("folder_missing", f"folder '{live.name}' not found",
                           expected=live.name))
    portgroup, _ = vcenter.find_portgroup(live.si, live.place.switch, live.name)
    if portgroup is None:
        found.append(drift("portgroup_missing", f"portgroup '{live.name}' not found on "
                                                f"switch '{live.endpoint.switch}'",
                           expected=live.name))
    return found


def component_drift(component: Component, props: dict | None) -> list[dict]:
    host = component.hostname
    if props is None:
        if component.status not in BUILT and component.moref is None:
            return []  # never built: nothing to compare
        return [drift("vm_missing", f"{host}: VM '{component.vm_name}' not found", host,
                      component.vm_name)]
    found = []
    expected = component.power_state or "poweredOn"
    actual = str(props.get("runtime.powerState"))
    if actual != expected:
        kind = "powered_off" if actual == "poweredOff" else "power_state"
        found.append(drift(kind, f"{host}: {actual}, expected {expected}", host, expected,
                           actual))
    spec = component.spec or {}
    for label, key, prop in (("vCPUs", "cpus", "config.hardware.numCPU"),
                             ("memory MB", "memory_mb", "config.hardware.memoryMB")):
        if spec.get(key) is not None and props.get(prop) != spec[key]:
            found.append(drift("size", f"{host}: {props.get(prop)} {label}, expected "
                                       f"{spec[key]}", host, spec[key], props.get(prop)))
    return found


def zpod_drift(live: LiveZpod) -> list[dict]:
    found = infrastructure_drift(live)
    vms = live.vms()
    known = set()
    for component in live.components:
        known.add(component.vm_name)
        hit = vms.get(component.vm_name)
        found.extend(component_drift(component, hit[1] if hit else None))
    for name in sorted(set(vms) - known):
        found.append(drift("extra_vm", f"VM '{name}' in the zPod's folder is not one of its "
                                       "components", actual=name))
    return found


class CheckFlow:
    title = "check"

    def run(self, run) -> None:
        run.total_steps = 1
        with run.step("compare with vCenter"):
            found = zpod_drift(open_zpod(run))
            for entry in found:
                run.emit(EventKind.DRIFT, entry["message"], run.percent())
            if not found:
                run.emit(EventKind.PROGRESS, "no drift: vCenter matches the record",
                         run.percent())
        with transaction(run.ctx.sessions) as session:
            job = session.get(Job, run.job_id)
            job.result = {**(job.result or {}), "drift": found}

    def on_success(self, session, job) -> None:
        pass

    def on_failure(self, session, job, message: str) -> None:
        pass
