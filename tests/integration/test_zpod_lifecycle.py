"""Deploy and destroy the `minimal` zPod on the simulator through the API, a real
Celery worker and real Redis, and check vCenter with plain pyvmomi."""

from __future__ import annotations

from pyVmomi import vim
from sqlalchemy import func, select

from services.api.context import ApiContext
from shared.contract import Tasks
from shared.models import Allocation, Job, Step
from tests.conftest import endpoint_body
from tests.helpers import wait_for_job
from tests.vsphere_inspect import extra_config

GIB_KB = 1024 * 1024


def deploy(client, name: str) -> tuple[dict, dict]:
    response = client.post("/api/v1/zpods",
                           json={"name": name, "endpoint": "sim", "profile": "minimal"})
    assert response.status_code == 202, response.json
    assert response.headers["Location"] == f"/api/v1/jobs/{response.json['job_id']}"
    return response.json, wait_for_job(client, response.json["job_id"])


def nic_portgroup_keys(vm) -> list[str]:
    return [dev.backing.port.portgroupKey for dev in vm.config.hardware.device
            if isinstance(dev, vim.vm.device.VirtualEthernetCard)]


def test_minimal_zpod_builds_every_object(client, worker, endpoint, inspector):
    zpod, job = deploy(client, "lab1")
    assert job["status"] == "succeeded", job
    assert [s["status"] for s in job["steps"]] == ["succeeded"] * len(job["steps"])
    assert job["events"][0]["kind"] == "job_started"
    assert job["events"][-1]["kind"] == "job_succeeded"
    assert [e["seq"] for e in job["events"]] == list(range(1, len(job["events"]) + 1))

    shown = client.get("/api/v1/zpods/lab1").json
    assert shown["status"] == "ready"
    network = shown["network"]
    assert network["subnet"] == "10.96.0.0/24" and network["vlan"] == 100
    assert network["gateway"] == "10.96.0.1"

    name = "nestlab-lab1"
    assert len(inspector.folder(name)) == 1
    assert len(inspector.pool(name)) == 1
    [pg] = inspector.portgroup(name)
    port_config = pg.config.defaultPortConfig
    assert port_config.vlan.vlanId == 100
    security = port_config.securityPolicy
    assert security.allowPromiscuous.value is True
    assert security.forgedTransmits.value is True
    assert security.macChanges.value is True

    [folder] = inspector.folder(name)
    vms = {vm.name: vm for vm in folder.childEntity}
    assert sorted(vms) == sorted(f"{name}-{h}" for h in ("router", "esxi1", "esxi2", "esxi3"))
    [pool] = inspector.pool(name)
    assert {vm.name for vm in pool.vm} == set(vms)
    by_host = {c["hostname"]: c for c in shown["components"]}
    for vm_name, vm in vms.items():
        hostname = vm_name.removeprefix(f"{name}-")
        assert vm.runtime.powerState == vim.VirtualMachinePowerState.poweredOn
        assert nic_portgroup_keys(vm) == [pg.key]
        assert any(isinstance(d, vim.vm.device.VirtualVmxnet3) for d in vm.config.hardware.device)
        guestinfo = extra_config(vm)
        assert guestinfo["guestinfo.hostname"] == hostname
        assert guestinfo["guestinfo.ipaddress"] == by_host[hostname]["ip"]
        assert guestinfo["guestinfo.netmask"] == "255.255.255.0"
        assert guestinfo["guestinfo.gateway"] == "10.96.0.1"
        assert guestinfo["guestinfo.dns"] == "10.96.0.1"
        assert guestinfo["guestinfo.domain"] == "lab1.nestlab.lab"
        assert len(guestinfo["guestinfo.password"]) >= 12
        assert by_host[hostname]["moref"] == vm._moId

    for index in (1, 2, 3):
        vm = vms[f"{name}-esxi{index}"]
        assert by_host[f"esxi{index}"]["ip"] == f"10.96.0.{10 + index}"
        assert vm.config.hardware.numCPU == 4
        assert vm.config.hardware.memoryMB == 16 * 1024
        assert vm.config.nestedHVEnabled is True
        assert vm.config.guestId.startswith("vmkernel")
        devices = vm.config.hardware.device
        assert any(isinstance(d, vim.vm.device.ParaVirtualSCSIController) for d in devices)
        disks = sorted((d for d in devices if isinstance(d, vim.vm.device.VirtualDisk)),
                       key=lambda d: d.unitNumber)
        assert [d.capacityInKB for d in disks] == [8 * GIB_KB, 40 * GIB_KB]
        assert disks[1].backing.thinProvisioned is True


def test_destroy_removes_everything_and_frees_the_network(client, worker, endpoint, inspector,
                                                          app):
    _, job = deploy(client, "lab2")
    assert job["status"] == "succeeded", job
    response = client.delete("/api/v1/zpods/lab2")
    assert response.status_code == 202
    job = wait_for_job(client, response.json["job_id"])
    assert job["status"] == "succeeded", job

    name = "nestlab-lab2"
    assert inspector.folder(name) == []
    assert inspector.pool(name) == []
    assert inspector.portgroup(name) == []
    assert inspector.vms_named(name) == []
    assert client.get("/api/v1/zpods/lab2").status_code == 404
    assert client.get("/api/v1/zpods?all=true").json[0]["status"] == "destroyed"
    with app.extensions["nestlab"].sessions() as session:
        assert session.scalar(select(func.count()).select_from(Allocation)) == 0

    # The name, VLAN and subnet are free again.
    again, job = deploy(client, "lab2")
    assert job["status"] == "succeeded", job
    assert again["network"]["vlan"] == 100 and again["network"]["subnet"] == "10.96.0.0/24"


def test_running_the_deploy_task_twice_makes_no_duplicates(client, worker, endpoint, inspector,
                                                           app):
    zpod, job = deploy(client, "twice")
    assert job["status"] == "succeeded", job
    ctx: ApiContext = app.extensions["nestlab"]
    # Make the job look never run, and deliver its task twice more.
    with ctx.sessions.begin() as session:
        stored = session.get(Job, job["id"])
        stored.status, stored.claimed_by, stored.finished_at = "queued", None, None
        for step in session.scalars(select(Step).where(Step.job_id == job["id"])):
            session.delete(step)
    for _ in range(2):
        ctx.celery.send_task(Tasks.DEPLOY_ZPOD.name, args=[job["id"]], queue="deployer")
    job = wait_for_job(client, job["id"])
    assert job["status"] == "succeeded", job

    name = "nestlab-twice"
    assert len(inspector.folder(name)) == 1
    assert len(inspector.pool(name)) == 1
    assert len(inspector.portgroup(name)) == 1
    names = sorted(vm.name for vm in inspector.vms_named(name + "-"))
    assert names == sorted(f"{name}-{h}" for h in ("esxi1", "esxi2", "esxi3", "router"))


def test_permanent_fault_fails_readably_and_delete_still_cleans_up(client, worker, endpoint,
                                                                   inspector):
    # A standard network already named like the zPod's portgroup: vCenter refuses
    # the portgroup after the folder and the resource pool were made.
    inspector.make_standard_portgroup("nestlab-clash")
    _, job = deploy(client, "clash")
    assert job["status"] == "failed"
    assert "create portgroup 'nestlab-clash'" in job["error"]
    assert "DuplicateName" in job["error"]
    assert job["events"][-1]["kind"] == "job_failed"
    failed_step = [s for s in job["steps"] if s["status"] == "failed"]
    assert failed_step and failed_step[0]["name"].startswith("portgroup")
    zpod = client.get("/api/v1/zpods/clash").json
    assert zpod["status"] == "failed"
    assert "deploy failed" in zpod["status_message"]
    assert len(inspector.folder("nestlab-clash")) == 1

    response = client.delete("/api/v1/zpods/clash")
    assert response.status_code == 202
    job = wait_for_job(client, response.json["job_id"])
    assert job["status"] == "succeeded", job
    assert inspector.folder("nestlab-clash") == []
    assert inspector.pool("nestlab-clash") == []


def test_unreachable_vcenter_is_retried_then_fails(client, worker, simulator):
    from nestlab.devstack import free_port

    body = endpoint_body(simulator, name="gone", port=free_port())
    assert client.post("/api/v1/endpoints", json=body).status_code == 201
    job = wait_for_job(client, client.post("/api/v1/endpoints/gone/verify").json["id"])
    assert job["status"] == "failed"
    assert "refused the connection" in job["error"]
    assert "gave up after 3 attempts" in job["error"]
    assert [e["kind"] for e in job["events"]].count("job_retrying") >= 2


def test_more_transient_retries_than_celerys_default_still_end_readably(settings, simulator,
                                                                       redis_client):
    """Celery's own default (3 retries) must not cut a job short of task_retry_max."""
    from celery.contrib.testing.worker import start_worker

    from nestlab.devstack import free_port
    from services.api import create_app
    from services.api.auth import ensure_admin_token
    from services.deployer.app import create_worker

    patient = settings.with_overrides(task_retry_max=5, task_retry_backoff=0.05)
    app = create_app(patient)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = (
        f"Bearer {ensure_admin_token(app.extensions['nestlab'])}")
    client.post("/api/v1/endpoints", json=endpoint_body(simulator, name="gone", port=free_port()))
    with start_worker(create_worker(patient), pool="solo", perform_ping_check=False,
                      queues=["deployer"], loglevel="WARNING"):
        job = wait_for_job(client, client.post("/api/v1/endpoints/gone/verify").json["id"])
    assert job["status"] == "failed"
    assert "gave up after 6 attempts" in job["error"]
