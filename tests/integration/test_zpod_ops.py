"""Operations on a live zPod (power, drift check, removing a component) through the
API, a real Celery worker, real Redis and the simulator; vCenter is read back
with plain pyvmomi."""

from __future__ import annotations

import pytest
from pyVim.task import WaitForTask
from pyVmomi import vim
from sqlalchemy import select

from shared.contract import Tasks
from shared.models import AuditEntry, Component, Job, Zpod
from shared.vsphere.collector import wait_for_value
from tests.helpers import wait_for_job
from tests.integration.test_zpod_lifecycle import deploy

HOSTS = ("router", "esxi1", "esxi2", "esxi3")
ON, OFF = "poweredOn", "poweredOff"


def deployed(client, name: str) -> dict:
    zpod, job = deploy(client, name)
    assert job["status"] == "succeeded", job
    return zpod


def vm(inspector, zpod: str, host: str):
    [found] = inspector.vms_named(f"nestlab-{zpod}-{host}")
    return found


def states(inspector, zpod: str) -> dict[str, str]:
    return {host: str(vm(inspector, zpod, host).runtime.powerState) for host in HOSTS}


def run(client, path: str, body: dict | None = None, method: str = "post") -> dict:
    response = getattr(client, method)(path, json=body)
    assert response.status_code == 202, response.json
    assert response.headers["Location"] == f"/api/v1/jobs/{response.json['id']}"
    job = wait_for_job(client, response.json["id"])
    assert job["status"] == "succeeded", job
    return job


def messages(job: dict, kind: str = "progress") -> list[str]:
    return [e["message"] for e in job["events"] if e["kind"] == kind]


def power_states(client, zpod: str) -> dict[str, str | None]:
    shown = client.get(f"/api/v1/zpods/{zpod}").json
    return {c["hostname"]: c["power_state"] for c in shown["components"]}


def test_stop_without_tools_powers_off_then_start_and_idempotence(client, worker, endpoint,
                                                                  inspector):
    deployed(client, "pw1")
    job = run(client, "/api/v1/zpods/pw1/power", {"action": "stop"})
    assert job["kind"] == "power"
    assert job["params"] == {"action": "stop", "hostname": None, "timeout": 120}
    for host in HOSTS:
        assert (f"{host}: VMware Tools not running, guest shutdown not possible; powering off"
                in messages(job))
        assert f"{host}: powered off" in messages(job)
    assert states(inspector, "pw1") == dict.fromkeys(HOSTS, OFF)
    assert power_states(client, "pw1") == dict.fromkeys(HOSTS, OFF)
    assert job["result"]["power_states"] == dict.fromkeys(HOSTS, OFF)

    again = run(client, "/api/v1/zpods/pw1/power", {"action": "stop"})
    assert sorted(messages(again)) == sorted(f"{h}: already powered off" for h in HOSTS)

    job = run(client, "/api/v1/zpods/pw1/power", {"action": "start"})
    assert "esxi2: powered on" in messages(job)
    assert states(inspector, "pw1") == dict.fromkeys(HOSTS, ON)
    assert power_states(client, "pw1") == dict.fromkeys(HOSTS, ON)


def test_stop_with_tools_shuts_the_guest_down(client, worker, endpoint, inspector):
    deployed(client, "pw2")
    target = vm(inspector, "pw2", "esxi2")
    WaitForTask(target.ReconfigVM_Task(vim.vm.ConfigSpec(extraConfig=[vim.option.OptionValue(
        key="SET.guest.toolsRunningStatus", value="guestToolsRunning")])))
    job = run(client, "/api/v1/zpods/pw2/components/esxi2/power",
              {"action": "stop", "timeout": 30})
    assert job["params"] == {"action": "stop", "hostname": "esxi2", "timeout": 30}
    assert messages(job) == ["esxi2: guest shutdown requested", "esxi2: guest shut down"]
    assert states(inspector, "pw2") == {**dict.fromkeys(HOSTS, ON), "esxi2": OFF}


def test_waiting_for_a_power_state_gives_up_at_the_timeout(client, worker, endpoint, inspector):
    deployed(client, "pw3")
    on = vm(inspector, "pw3", "esxi1")
    off = vm(inspector, "pw3", "esxi2")
    WaitForTask(off.PowerOffVM_Task())
    still_on = wait_for_value(inspector.si, [on, off], vim.VirtualMachine,
                              "runtime.powerState", OFF, 1)
    assert [v._moId for v in still_on] == [on._moId]


def test_poweroff_reset_and_start_per_component_and_per_zpod(client, worker, endpoint,
                                                             inspector, app):
    deployed(client, "pw4")
    job = run(client, "/api/v1/zpods/pw4/components/esxi1/power", {"action": "poweroff"})
    assert messages(job) == ["esxi1: powered off"]
    assert states(inspector, "pw4") == {**dict.fromkeys(HOSTS, ON), "esxi1": OFF}
    assert power_states(client, "pw4")["esxi1"] == OFF

    job = run(client, "/api/v1/zpods/pw4/components/esxi1/power", {"action": "reset"})
    assert messages(job) == ["esxi1: poweredOff, not reset (start it instead)"]
    assert str(vm(inspector, "pw4", "esxi1").runtime.powerState) == OFF

    job = run(client, "/api/v1/zpods/pw4/power", {"action": "reset"})
    assert sorted(job["result"]["reset"]) == ["esxi2", "esxi3", "router"]
    assert "esxi3: reset" in messages(job)
    assert states(inspector, "pw4") == {**dict.fromkeys(HOSTS, ON), "esxi1": OFF}

    # Delivered again, the reset job resets nothing twice.
    ctx = app.extensions["nestlab"]
    with ctx.sessions.begin() as session:
        stored = session.get(Job, job["id"])
        stored.status, stored.claimed_by, stored.finished_at = "queued", None, None
    ctx.celery.send_task(Tasks.POWER.name, args=[job["id"]], queue="deployer")
    job = wait_for_job(client, job["id"])
    assert job["status"] == "succeeded", job
    assert "esxi3: already reset by this job" in messages(job)
    assert messages(job).count("esxi3: reset") == 1

    run(client, "/api/v1/zpods/pw4/components/esxi1/power", {"action": "start"})
    run(client, "/api/v1/zpods/pw4/power", {"action": "poweroff"})
    assert states(inspector, "pw4") == dict.fromkeys(HOSTS, OFF)
    assert power_states(client, "pw4") == dict.fromkeys(HOSTS, OFF)


def make_stray_vm(inspector, zpod: str, name: str) -> None:
    [folder] = inspector.folder(f"nestlab-{zpod}")
    [pool] = inspector.pool(f"nestlab-{zpod}")
    config = vim.vm.ConfigSpec(name=name, numCPUs=1, memoryMB=128, guestId="otherGuest",
                               files=vim.vm.FileInfo(vmPathName="[LocalDS_0]"))
    WaitForTask(folder.CreateVM_Task(config=config, pool=pool))


def test_check_reports_drift_made_behind_nestlabs_back(client, worker, endpoint, inspector):
    deployed(client, "dr1")
    job = run(client, "/api/v1/zpods/dr1/check")
    assert job["kind"] == "check" and job["result"]["drift"] == []
    assert "no drift: vCenter matches the record" in messages(job)

    WaitForTask(vm(inspector, "dr1", "esxi1").PowerOffVM_Task())
    gone = vm(inspector, "dr1", "esxi2")
    WaitForTask(gone.PowerOffVM_Task())
    WaitForTask(gone.Destroy_Task())
    WaitForTask(vm(inspector, "dr1", "esxi3").ReconfigVM_Task(
        vim.vm.ConfigSpec(numCPUs=2, memoryMB=8192)))
    make_stray_vm(inspector, "dr1", "nestlab-dr1-stray")

    job = run(client, "/api/v1/zpods/dr1/check")
    found = {(d["kind"], d["hostname"]) for d in job["result"]["drift"]}
    assert found == {("powered_off", "esxi1"), ("vm_missing", "esxi2"), ("size", "esxi3"),
                     ("extra_vm", None)}
    sizes = [d for d in job["result"]["drift"] if d["kind"] == "size"]
    assert {(d["expected"], d["actual"]) for d in sizes} == {(4, 2), (16384, 8192)}
    assert len(messages(job, "drift")) == len(job["result"]["drift"]) == 5
    assert "esxi1: poweredOff, expected poweredOn" in messages(job, "drift")
    assert "VM 'nestlab-dr1-stray' in the zPod's folder is not one of its components" in \
        messages(job, "drift")

    # Stopped through nestlab, a VM that is off is what the record expects.
    run(client, "/api/v1/zpods/dr1/components/esxi1/power", {"action": "stop"})
    job = run(client, "/api/v1/zpods/dr1/check")
    assert ("powered_off", "esxi1") not in {(d["kind"], d["hostname"])
                                            for d in job["result"]["drift"]}

    [pg] = inspector.portgroup("nestlab-dr1")
    WaitForTask(pg.Destroy_Task())
    job = run(client, "/api/v1/zpods/dr1/check")
    assert "portgroup_missing" in {d["kind"] for d in job["result"]["drift"]}


def test_remove_component_destroys_its_vm_and_forgets_it(client, worker, endpoint, inspector,
                                                         app):
    deployed(client, "rm1")
    job = run(client, "/api/v1/zpods/rm1/components/esxi3", method="delete")
    assert job["kind"] == "remove_component" and job["params"] == {"hostname": "esxi3"}
    assert messages(job) == ["esxi3: powered off", "esxi3: VM destroyed"]
    assert inspector.vms_named("nestlab-rm1-esxi3") == []
    assert len(inspector.vms_named("nestlab-rm1-")) == 3
    shown = client.get("/api/v1/zpods/rm1").json
    assert [c["hostname"] for c in shown["components"]] == ["router", "esxi1", "esxi2"]
    with app.extensions["nestlab"].sessions() as session:
        assert session.scalar(select(Component).where(Component.hostname == "esxi3")) is None

    assert client.delete("/api/v1/zpods/rm1/components/esxi3").status_code == 404
    # A VM already gone (destroyed behind nestlab's back) is simply forgotten.
    gone = vm(inspector, "rm1", "esxi2")
    WaitForTask(gone.PowerOffVM_Task())
    WaitForTask(gone.Destroy_Task())
    job = run(client, "/api/v1/zpods/rm1/components/esxi2", method="delete")
    assert messages(job) == ["esxi2: VM 'nestlab-rm1-esxi2' already gone"]
    run(client, "/api/v1/zpods/rm1/components/esxi1", method="delete")
    response = client.delete("/api/v1/zpods/rm1/components/router")
    assert response.status_code == 409
    assert "last component" in response.json["message"]
    assert run(client, "/api/v1/zpods/rm1/check")["result"]["drift"] == []


@pytest.fixture
def people(app, client):
    """A viewer of zPod `er1` and a stranger to it, as test clients."""
    def user(name: str):
        assert client.post("/api/v1/users", json={"name": name}).status_code == 201
        token = client.post(f"/api/v1/users/{name}/tokens", json={"name": "t"}).json["token"]
        found = app.test_client()
        found.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        return found
    return user


def test_errors_conflicts_and_access(client, worker, endpoint, app, people):
    zpod = deployed(client, "er1")
    viewer, stranger = people("vic"), people("stan")
    grant = client.post("/api/v1/zpods/er1/permissions", json={"user": "vic", "role": "viewer"})
    assert grant.status_code == 201
    body = {"action": "start"}
    for path in ("/api/v1/zpods/er1/power", "/api/v1/zpods/er1/components/esxi1/power"):
        assert viewer.post(path, json=body).status_code == 403
        assert stranger.post(path, json=body).status_code == 404
    assert viewer.post("/api/v1/zpods/er1/check").status_code == 403
    assert viewer.delete("/api/v1/zpods/er1/components/esxi1").status_code == 403
    assert stranger.delete("/api/v1/zpods/er1/components/esxi1").status_code == 404

    response = client.post("/api/v1/zpods/er1/components/nope/power", json=body)
    assert response.status_code == 404 and "no component 'nope'" in response.json["message"]
    assert client.delete("/api/v1/zpods/er1/components/nope").status_code == 404
    assert client.post("/api/v1/zpods/nope/power", json=body).status_code == 404
    bad = client.post("/api/v1/zpods/er1/power", json={"action": "hibernate"})
    assert bad.status_code == 422 and "action" in bad.json["errors"]["json"]
    bad = client.post("/api/v1/zpods/er1/power", json={"action": "start", "timeout": 5})
    assert bad.status_code == 422 and "timeout" in bad.json["errors"]["json"]

    ctx = app.extensions["nestlab"]
    with ctx.sessions.begin() as session:  # a job in progress, never published
        session.add(Job(kind="check", zpod_id=zpod["id"], status="running"))
    for method, path in (("post", "/api/v1/zpods/er1/power"),
                         ("post", "/api/v1/zpods/er1/check"),
                         ("delete", "/api/v1/zpods/er1/components/esxi1")):
        response = getattr(client, method)(path, json=body if "power" in path else None)
        assert response.status_code == 409, response.json
        assert "in progress" in response.json["message"]
    with ctx.sessions.begin() as session:
        session.get(Zpod, zpod["id"]).status = "deploying"
        for job in session.scalars(select(Job).where(Job.status == "running")):
            job.status = "failed"
    response = client.post("/api/v1/zpods/er1/power", json=body)
    assert response.status_code == 409 and "deploying" in response.json["message"]

    with ctx.sessions() as session:
        audited = {(a.action, a.target, a.status_code) for a in session.scalars(
            select(AuditEntry).where(AuditEntry.resource == "zpods"))}
    assert ("power", "er1", 409) in audited
    assert ("power", "er1/esxi1", 403) in audited
    assert ("check", "er1", 403) in audited
    assert ("delete", "er1/nope", 404) in audited
