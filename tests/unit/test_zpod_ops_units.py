"""Decisions of the zPod operations that need no vCenter: the drift of one component,
what a stop does when a guest cannot shut down, the job-kind contract, chat titles."""

from __future__ import annotations

import pytest
from pyVmomi import vim

from services.deployer.drift import component_drift
from services.deployer.power import PowerFlow, Target
from services.notifier.messages import job_title
from shared.contract import TASK_FOR_JOB_KIND
from shared.errors import PermanentError
from shared.models import Component, Job, JobKind, Zpod

VM = {"runtime.powerState": "poweredOn", "config.hardware.numCPU": 4,
      "config.hardware.memoryMB": 16384}


def esxi(**fields) -> Component:
    values = {"hostname": "esxi1", "vm_name": "nestlab-z-esxi1", "status": "running",
              "moref": "vm-1", "power_state": None, "spec": {"cpus": 4, "memory_mb": 16384}}
    values.update(fields)
    return Component(**values)


def kinds(component, props) -> list[str]:
    return [d["kind"] for d in component_drift(component, props)]


def test_a_vm_as_recorded_is_no_drift():
    assert kinds(esxi(), VM) == []


def test_the_expected_power_state_is_the_one_nestlab_set():
    off = {**VM, "runtime.powerState": "poweredOff"}
    assert kinds(esxi(), off) == ["powered_off"]
    assert kinds(esxi(power_state="poweredOff"), off) == []
    assert kinds(esxi(power_state="poweredOff"), VM) == ["power_state"]


def test_size_differences_are_one_entry_each():
    found = component_drift(esxi(), {**VM, "config.hardware.numCPU": 2,
                                     "config.hardware.memoryMB": 4096})
    assert [(d["expected"], d["actual"]) for d in found] == [(4, 2), (16384, 4096)]


def test_a_missing_vm_counts_only_once_it_was_built():
    assert kinds(esxi(), None) == ["vm_missing"]
    assert kinds(esxi(status="planned", moref=None), None) == []


def test_every_zpod_operation_has_a_deployer_task():
    for kind in (JobKind.POWER, JobKind.REMOVE_COMPONENT, JobKind.CHECK):
        assert TASK_FOR_JOB_KIND[kind].queue == "deployer"


class FakeRun:
    """Collects a flow's events."""

    def __init__(self):
        self.events = []

    def emit(self, kind, message, percent=None):
        self.events.append((kind, message))

    def percent(self):
        return None


class GuestVM:
    """A VM whose Tools look running but whose ShutdownGuest answers `fault`."""

    def __init__(self, fault=None):
        self.fault, self.asked = fault, 0

    def ShutdownGuest(self):  # noqa: N802 - the vSphere method's name
        self.asked += 1
        if self.fault is not None:
            raise self.fault


def target(vm) -> Target:
    return Target(esxi(), vm, {"runtime.powerState": "poweredOn",
                               "guest.toolsRunningStatus": "guestToolsRunning"})


def test_tools_unavailable_means_power_off_instead():
    run, vm = FakeRun(), GuestVM(vim.fault.ToolsUnavailable())
    assert PowerFlow().ask_guest(run, target(vm)) is False
    assert vm.asked == 1
    assert run.events == [("progress", "esxi1: VMware Tools not running, guest shutdown not "
                                       "possible; powering off")]


def test_a_guest_with_tools_is_asked_to_shut_down():
    run, vm = FakeRun(), GuestVM()
    assert PowerFlow().ask_guest(run, target(vm)) is True
    assert run.events == [("progress", "esxi1: guest shutdown requested")]


def test_other_shutdown_faults_fail_the_job_readably():
    with pytest.raises(PermanentError, match="shut down the guest of 'esxi1'"):
        PowerFlow().ask_guest(FakeRun(), target(GuestVM(vim.fault.InvalidState())))


def test_chat_titles_name_the_operation():
    lab = Zpod(name="lab1")
    stop = Job(id=3, kind="power", params={"action": "stop", "hostname": None})
    assert job_title(stop, lab, None) == "Power stop of zPod lab1 (all VMs)"
    reset = Job(id=4, kind="power", params={"action": "reset", "hostname": "esxi1"})
    assert job_title(reset, lab, None) == "Power reset of zPod lab1 (esxi1)"
    assert job_title(Job(id=5, kind="check"), lab, None) == "Drift check of zPod lab1"
    removal = Job(id=6, kind="remove_component", params={"hostname": "esxi3"})
    assert job_title(removal, lab, None) == "Removal of esxi3 from zPod lab1"
