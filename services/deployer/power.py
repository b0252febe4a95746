"""Power operations on a live zPod's VMs: start, stop, poweroff, reset.

One job acts on one component or on every component of the zPod. Each VM is
looked at before it is acted on, and a VM already in the wanted state is
skipped, so a job delivered twice does nothing twice (a reset, which has no
end state, records the VMs it reset in the job's result).

`stop` asks each guest to shut down (VMware Tools), follows the VMs' power
state with the PropertyCollector until they are off or the timeout runs out,
then powers off what is still on. A guest without running Tools cannot shut
down: vCenter answers ToolsUnavailable, so such VMs are powered off at once.
"""

from __future__ import annotations

from pyVmomi import vim
from sqlalchemy import select

from services.deployer.live import LiveZpod, open_zpod
from shared.db import transaction
from shared.errors import PermanentError
from shared.events import EventKind
from shared.models import Component, Job
from shared.vsphere.collector import properties, wait_for_tasks, wait_for_value
from shared.vsphere.errors import NotFound, VsphereError, translate
from shared.vsphere.inventory import call

ON = vim.VirtualMachinePowerState.poweredOn
OFF = vim.VirtualMachinePowerState.poweredOff
TOOLS_RUNNING = "guestToolsRunning"
ACTIONS = ("start", "stop", "poweroff", "reset")


class Target:
    """One component's VM as it was read before acting."""

    def __init__(self, component: Component, vm, props: dict):
        self.hostname, self.vm = component.hostname, vm
        self.state = props.get("runtime.powerState")
        self.tools = props.get("guest.toolsRunningStatus")


def settle(si, targets: list[Target], method: str, wanted, what: str) -> None:
    """Run `method` (e.g. PowerOffVM_Task) on every target's VM and wait.

    With `wanted`, a task that fails because the VM got to that state on its
    own meanwhile (a guest finishing its shutdown just then) is not an error.
    """
    if not targets:
        return
    tasks = [call(f"{what} '{t.hostname}'", getattr(t.vm, method)) for t in targets]
    try:
        wait_for_tasks(si, tasks, what)
    except VsphereError:
        if wanted is None:
            raise
        states = properties(si, [t.vm for t in targets], vim.VirtualMachine,
                            ["runtime.powerState"])
        if any(s.get("runtime.powerState") != wanted for s in states.values()):
            raise


class PowerFlow:
    title = "power"

    def run(self, run) -> None:
        live = open_zpod(run)
        action, hostname = live.params.get("action"), live.params.get("hostname")
        if action not in ACTIONS:
            raise PermanentError(f"unknown power action {action!r}")
        run.total_steps = 2
        with run.step(f"{action} {hostname or 'all VMs'}"):
            targets = self._targets(run, live, hostname)
            getattr(self, action)(run, live, targets)
        with run.step("record power states"):
            record_power_states(run, live)

    def _targets(self, run, live: LiveZpod, hostname: str | None) -> list[Target]:
        components = [live.component(hostname)] if hostname else live.components
        vms = live.vms()
        targets = []
        for component in components:
            hit = vms.get(component.vm_name)
            if hit is None:
                message = f"{component.hostname}: VM '{component.vm_name}' not found in vCenter"
                if hostname:
                    raise NotFound(f"{message}; `check` the zPod")
                run.emit(EventKind.PROGRESS, f"{message}; skipped", run.percent())
                continue
            targets.append(Target(component, *hit))
        return targets

    def start(self, run, live: LiveZpod, targets: list[Target]) -> None:
        todo = self._skip_in_state(run, targets, ON, "already powered on")
        settle(live.si, todo, "PowerOnVM_Task", ON, "power on")
        self._announce(run, todo, "powered on")

    def poweroff(self, run, live: LiveZpod, targets: list[Target]) -> None:
        todo = self._skip_in_state(run, targets, OFF, "already powered off")
        settle(live.si, todo, "PowerOffVM_Task", OFF, "power off")
        self._announce(run, todo, "powered off")

    def reset(self, run, live: LiveZpod, targets: list[Target]) -> None:
        done = set(_result(run).get("reset", []))
        todo = []
        for target in targets:
            if target.hostname in done:
                run.emit(EventKind.PROGRESS, f"{target.hostname}: already reset by this job")
            elif target.state != ON:
                run.emit(EventKind.PROGRESS, f"{target.hostname}: {target.state}, not reset "
                                             "(start it instead)")
            else:
                todo.append(target)
        settle(live.si, todo, "ResetVM_Task", None, "reset")
        _merge_result(run, {"reset": sorted(done | {t.hostname for t in todo})})
        self._announce(run, todo, "reset")

    def stop(self, run, live: LiveZpod, targets: list[Target]) -> None:
        todo = self._skip_in_state(run, targets, OFF, "already powered off")
        asked, force = [], [t for t in todo if t.state != ON]  # suspended: no guest to ask
        for target in (t for t in todo if t.state == ON):
            if self.ask_guest(run, target):
                asked.append(target)
            else:
                force.append(target)
        timeout = live.params.get("timeout") or run.ctx.settings.guest_shutdown_timeout
        still_on = call("wait for the guests to shut down", wait_for_value, live.si,
                        [t.vm for t in asked], vim.VirtualMachine, "runtime.powerState", OFF,
                        timeout)
        late = {vm._moId for vm in still_on}
        for target in asked:
            if target.vm._moId in late:
                run.emit(EventKind.PROGRESS, f"{target.hostname}: the guest did not shut down "
                                             f"within {timeout}s; powering off", run.percent())
                force.append(target)
            else:
                run.emit(EventKind.PROGRESS, f"{target.hostname}: guest shut down", run.percent())
        settle(live.si, force, "PowerOffVM_Task", OFF, "power off")
        self._announce(run, force, "powered off")

    def ask_guest(self, run, target: Target) -> bool:
        """Ask the guest to shut down; False when it cannot (no running VMware Tools)."""
        cannot = f"{target.hostname}: VMware Tools not running, guest shutdown not possible; " \
                 "powering off"
        if target.tools != TOOLS_RUNNING:
            run.emit(EventKind.PROGRESS, cannot, run.percent())
            return False
        try:
            target.vm.ShutdownGuest()
        except vim.fault.ToolsUnavailable:
            run.emit(EventKind.PROGRESS, cannot, run.percent())
            return False
        except vim.fault.InvalidPowerState:
            pass  # it went off since we looked: waiting finds it off at once
        except Exception as exc:  # noqa: BLE001 - translated into a typed error
            raise translate(exc, f"shut down the guest of '{target.hostname}'") from exc
        run.emit(EventKind.PROGRESS, f"{target.hostname}: guest shutdown requested",
                 run.percent())
        return True

    def _skip_in_state(self, run, targets: list[Target], state, why: str) -> list[Target]:
        for target in targets:
            if target.state == state:
                run.emit(EventKind.PROGRESS, f"{target.hostname}: {why}", run.percent())
        return [t for t in targets if t.state != state]

    def _announce(self, run, targets: list[Target], what: str) -> None:
        for target in targets:
            run.emit(EventKind.PROGRESS, f"{target.hostname}: {what}", run.percent())

    def on_success(self, session, job) -> None:
        pass

    def on_failure(self, session, job, message: str) -> None:
        pass


def record_power_states(run, live: LiveZpod) -> dict[str, str]:
    """Read every VM's power state again and write it on its component (and the job)."""
    vms = live.vms()
    states = {}
    with transaction(run.ctx.sessions) as session:
        for component in session.scalars(select(Component).where(
                Component.zpod_id == run.zpod_id)):
            hit = vms.get(component.vm_name)
            if hit is not None:
                component.power_state = str(hit[1].get("runtime.powerState"))
                states[component.hostname] = component.power_state
    _merge_result(run, {"power_states": states})
    return states


def _result(run) -> dict:
    with run.ctx.sessions() as session:
        return dict(session.get(Job, run.job_id).result or {})


def _merge_result(run, values: dict) -> None:
    with transaction(run.ctx.sessions) as session:
        job = session.get(Job, run.job_id)
        job.result = {**(job.result or {}), **values}
