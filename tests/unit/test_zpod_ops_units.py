"""The drift comparison of one component and the job-kind contract, without vCenter."""

from __future__ import annotations

from services.deployer.drift import component_drift
from shared.contract import TASK_FOR_JOB_KIND
from shared.models import Component, JobKind

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
