"""zPods built from library components: the OVA imported, or a staged template cloned;
reconfigured, properties set, powered on, the guest's IP waited for; items of a stage
spread over two deployer workers; a failed item retried without redoing the others.

The simulator's guest has no VMware Tools: a property `SET.guest.ipAddress` (written
to extraConfig) is the simulator's hook that makes the guest report an address.
"""

from __future__ import annotations

import pytest
from pyVmomi import vim

from nestlab import devstack
from tests.conftest import endpoint_body
from tests.helpers import kill, start_worker_process, wait_for_job
from tests.integration.test_library_stage import ready_ova
from tests.vsphere_inspect import extra_config

GIB_KB = 1024 * 1024
REPORTS_IP = {"SET.guest.ipAddress": "{{ ip }}", "guestinfo.fqdn": "{{ hostname }}.{{ domain }}"}


@pytest.fixture(scope="module")
def simulator(session_dir, vcsim_binary):
    """A simulator of this module's own: templates stay out of the other tests' way."""
    sim = devstack.start_vcsim(None, session_dir / "component-sim", binary=vcsim_binary,
                               flags=["-method-delay", "CreateVM_Task=300,CloneVM_Task=300"])
    yield sim
    sim.stop()


@pytest.fixture
def deployers(settings, tmp_path):
    """Two deployer worker processes (a short guest IP timeout for the failure test)."""
    procs = [start_worker_process(settings, f"deployer{n}", tmp_path,
                                  NESTLAB_GUEST_IP_TIMEOUT="3") for n in (1, 2)]
    yield procs
    for proc in procs:
        if proc.poll() is None:
            kill(proc)


def profile(client, name: str, items: list[dict]) -> None:
    response = client.post("/api/v1/profiles", json={"name": name, "stages": [
        {"name": "network", "items": [{"role": "router", "hostname": "router",
                                       "host_octet": 1}]},
        {"name": "appliances", "items": items}]})
    assert response.status_code == 201, response.get_json()


def appliance(**extra) -> dict:
    return {"role": "ova", "hostname": "app{n}", "host_octet": 20, "count": 3,
            "component": "tiny-1", "cpus": 1, "memory_mb": 2048, "nested_hv": True,
            "disks": [{"size_gb": 2}, {"size_gb": 1}], "properties": REPORTS_IP, **extra}


def deploy(client, name: str, profile_name: str) -> dict:
    response = client.post("/api/v1/zpods", json={"name": name, "endpoint": "sim",
                                                  "profile": profile_name})
    assert response.status_code == 202, response.get_json()
    return wait_for_job(client, response.get_json()["job_id"], timeout=180)


def check_vm(inspector, vm, ip: str, hostname: str, zpod: str) -> None:
    hardware = vm.config.hardware
    assert (hardware.numCPU, hardware.memoryMB, vm.config.nestedHVEnabled) == (1, 2048, True)
    disks = sorted(d.capacityInKB for d in hardware.device
                   if isinstance(d, vim.vm.device.VirtualDisk))
    assert disks == [1 * GIB_KB, 2 * GIB_KB]  # the OVA's 1 GiB disk grown, a second added
    [pg] = inspector.portgroup(f"nestlab-{zpod}")
    nics = [d for d in hardware.device if isinstance(d, vim.vm.device.VirtualEthernetCard)]
    assert nics and all(n.backing.port.portgroupKey == pg.key for n in nics)
    config = extra_config(vm)
    assert config["guestinfo.fqdn"] == f"{hostname}.{zpod}.nestlab.lab"
    assert config["guestinfo.ipaddress"] == ip
    assert vm.runtime.powerState == "poweredOn"
    assert vm.guest.ipAddress == ip


def test_import_then_clone_across_two_workers(client, library_worker, deployers, simulator,
                                              inspector, tmp_path):
    ready_ova(client, tmp_path, "tiny")
    assert client.post("/api/v1/endpoints", json=endpoint_body(simulator)).status_code == 201
    profile(client, "imported", [appliance(template="never")])
    job = deploy(client, "imp", "imported")
    assert job["status"] == "succeeded", job["error"]
    names = [s["name"] for s in job["steps"]]
    assert {"app1: import", "app2: import", "app3: import", "router: create"} <= set(names)
    assert "app1: guest IP" in names and "router: guest IP" not in names
    # The appliances' stage started only once the network stage had finished.
    messages = [e["message"] for e in job["events"]]
    assert messages.index("stage 'network' finished") < min(
        messages.index(f"app{n}: import") for n in (1, 2, 3))
    zpod = client.get("/api/v1/zpods/imp").get_json()
    for component in zpod["components"]:
        [vm] = inspector.vms_named(component["vm_name"])
        assert component["status"] == "ready" and component["moref"] == vm._moId
        if component["hostname"] != "router":
            check_vm(inspector, vm, component["ip"], component["hostname"], "imp")
    # Both workers took part in the 3-item stage.
    for proc_log in ("deployer1.log", "deployer2.log"):
        assert "deployer.deploy_item" in (tmp_path / proc_log).read_text()

    staged = client.post("/api/v1/components/tiny-1/stage", json={"endpoint": "sim"})
    assert wait_for_job(client, staged.get_json()["job_id"])["status"] == "succeeded"
    profile(client, "cloned", [appliance()])
    job = deploy(client, "clo", "cloned")
    assert job["status"] == "succeeded", job["error"]
    assert {"app1: clone", "app2: clone", "app3: clone"} <= {s["name"] for s in job["steps"]}
    for component in client.get("/api/v1/zpods/clo").get_json()["components"]:
        if component["hostname"] != "router":
            [vm] = inspector.vms_named(component["vm_name"])
            check_vm(inspector, vm, component["ip"], component["hostname"], "clo")
    assert job["soap_calls"] > 0


def test_a_silent_guest_fails_its_item_and_retry_resumes(client, library_worker, deployers,
                                                         simulator, inspector, tmp_path):
    ready_ova(client, tmp_path, "tiny")
    client.post("/api/v1/endpoints", json=endpoint_body(simulator))
    silent = appliance(template="never", count=1, hostname="quiet", host_octet=30,
                       properties={})
    profile(client, "half-silent", [appliance(template="never", count=2), silent])
    job = deploy(client, "shy", "half-silent")
    assert job["status"] == "failed"
    assert "quiet" in job["error"] and "did not report an IP address" in job["error"]
    zpod = client.get("/api/v1/zpods/shy").get_json()
    assert zpod["status"] == "failed"
    states = {c["hostname"]: c["status"] for c in zpod["components"]}
    assert states == {"router": "ready", "app1": "ready", "app2": "ready", "quiet": "failed"}

    # The guest comes up at last (the simulator's hook), and the job is retried.
    [vm] = inspector.vms_named("nestlab-shy-quiet")
    ip = next(c["ip"] for c in zpod["components"] if c["hostname"] == "quiet")
    task = vm.ReconfigVM_Task(spec=vim.vm.ConfigSpec(extraConfig=[
        vim.option.OptionValue(key="SET.guest.ipAddress", value=ip)]))
    devstack.wait_until(lambda: task.info.state == "success", 30, "the reconfigure")
    retried = client.post(f"/api/v1/jobs/{job['id']}/retry")
    assert retried.status_code == 202, retried.get_json()
    assert client.post(f"/api/v1/jobs/{job['id']}/retry").status_code == 409
    job = wait_for_job(client, job["id"], timeout=120)
    assert job["status"] == "succeeded", job["error"]
    # Nothing done twice: one VM per component, the ready ones' steps ran once.
    assert sorted(v.name for v in inspector.vms_named("nestlab-shy-")) == [
        "nestlab-shy-app1", "nestlab-shy-app2", "nestlab-shy-quiet", "nestlab-shy-router"]
    started = [e["message"] for e in job["events"] if e["kind"] == "step_started"]
    assert started.count("app1: import") == 1 and started.count("quiet: guest IP") == 2
    assert client.get("/api/v1/zpods/shy").get_json()["status"] == "ready"


def test_template_staged_first_when_the_profile_asks(client, library_worker, deployers,
                                                     simulator, inspector, tmp_path):
    ready_ova(client, tmp_path, "tiny")
    client.post("/api/v1/endpoints", json=endpoint_body(simulator))
    profile(client, "staged", [appliance(template="stage", count=2)])
    job = deploy(client, "stg", "staged")
    assert job["status"] == "succeeded", job["error"]
    asked = [e["message"] for e in job["events"] if "as a template" in e["message"]]
    assert len(asked) == 1, asked  # two items, one staging
    assert {"app1: clone", "app2: clone"} <= {s["name"] for s in job["steps"]}
    templates = client.get("/api/v1/components/tiny-1").get_json()["templates"]
    assert [t["status"] for t in templates] == ["ready"]
    for component in client.get("/api/v1/zpods/stg").get_json()["components"]:
        if component["hostname"] != "router":
            [vm] = inspector.vms_named(component["vm_name"])
            check_vm(inspector, vm, component["ip"], component["hostname"], "stg")


def test_retry_refuses_what_it_cannot_retry(client, worker, simulator):
    client.post("/api/v1/endpoints", json=endpoint_body(simulator))
    created = client.post("/api/v1/zpods", json={"name": "fine", "endpoint": "sim",
                                                 "profile": "minimal"}).get_json()
    job = wait_for_job(client, created["job_id"])
    assert job["status"] == "succeeded"
    response = client.post(f"/api/v1/jobs/{job['id']}/retry")
    assert response.status_code == 409 and "only a failed job" in response.get_json()["message"]
    assert client.post("/api/v1/jobs/999/retry").status_code == 404
