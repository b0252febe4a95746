"""A tiny OVA built here is downloaded, inspected, and staged onto the simulator as a
template, once; the template is checked with plain pyvmomi."""

from __future__ import annotations

import pytest
from pyVmomi import vim

from nestlab import devstack
from tests.conftest import endpoint_body
from tests.helpers import wait_for_job
from tests.library_helpers import component, definition, enable, library_with
from tests.ova_builder import build_ova


@pytest.fixture(scope="module")
def simulator(session_dir, vcsim_binary):
    """A simulator of this module's own: templates stay out of the deployer tests' way."""
    sim = devstack.start_vcsim(None, session_dir / "library-sim", binary=vcsim_binary)
    yield sim
    sim.stop()


def ready_ova(client, tmp_path, name: str) -> dict:
    """Component '<name>-1' (a real OVA), downloaded and ready."""
    ova = build_ova(tmp_path / "www" / f"{name}.ova", name=name)
    library_with(client, tmp_path / "defs", definition(name, "1", ova.as_uri(),
                                                       ova.read_bytes()))
    job = enable(client, f"{name}-1")
    assert job["status"] == "succeeded", job
    return component(client, f"{name}-1")


@pytest.fixture
def tiny(client, library_worker, tmp_path):
    return ready_ova(client, tmp_path, "tiny")


def template_vm(inspector, name: str) -> list:
    folders = inspector.folder("nestlab-templates")
    assert len(folders) == 1
    return [vm for vm in folders[0].childEntity
            if isinstance(vm, vim.VirtualMachine) and vm.name == name]


def test_download_inspects_the_ova(tiny):
    ova = tiny["ova"]
    assert ova["descriptor"] == "tiny.ovf" and ova["os_type"] == "otherLinux64Guest"
    assert ova["hardware"]["cpus"] == 2 and ova["hardware"]["memory_mb"] == 1024
    assert ova["disks"] == [{"id": "vmdisk1", "capacity_bytes": 1 << 30,
                             "file": "tiny-disk1.vmdk", "format": ova["disks"][0]["format"]}]
    assert ova["networks"][0]["name"] == "VM Network"
    assert ova["nics"] == [{"network": "VM Network", "type": "VmxNet3"}]
    props = {p["key"]: p for p in ova["properties"]}
    assert props["guestinfo.hostname"]["default"] == "tiny"
    assert props["guestinfo.ssh"]["type"] == "boolean"
    assert props["guestinfo.hostname"]["label"] == "Hostname"


def test_stage_imports_once_as_a_template(client, tiny, simulator, inspector):
    assert client.post("/api/v1/endpoints", json=endpoint_body(simulator)).status_code == 201
    first = client.post("/api/v1/components/tiny-1/stage", json={"endpoint": "sim"})
    second = client.post("/api/v1/components/tiny-1/stage", json={"endpoint": "sim"})
    assert first.status_code == 202, first.get_json()
    assert second.status_code in (200, 202)
    assert second.get_json()["job_id"] == first.get_json()["job_id"]
    job = wait_for_job(client, first.get_json()["job_id"])
    assert job["status"] == "succeeded", job
    assert any(e["kind"] == "progress" and "uploading disks" in e["message"]
               for e in job["events"])

    [vm] = template_vm(inspector, "nestlab-tpl-tiny-1")
    assert vm.config.template is True
    assert vm.config.hardware.numCPU == 2 and vm.config.hardware.memoryMB == 1024
    disks = [d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualDisk)]
    assert [d.capacityInKB for d in disks] == [1 << 20]
    assert any(isinstance(d, vim.vm.device.VirtualVmxnet3) for d in vm.config.hardware.device)

    again = client.post("/api/v1/components/tiny-1/stage", json={"endpoint": "sim"})
    assert again.status_code == 200 and again.get_json()["status"] == "ready"
    assert again.get_json()["moref"] == vm._moId
    shown = component(client, "tiny-1")
    assert [(t["endpoint"], t["status"]) for t in shown["templates"]] == [("sim", "ready")]
    assert len(template_vm(inspector, "nestlab-tpl-tiny-1")) == 1
    kinds = [j["kind"] for j in client.get("/api/v1/jobs").get_json()]
    assert kinds.count("stage") == 1


def test_half_imported_vm_is_replaced(client, library_worker, tmp_path, simulator, inspector):
    ready_ova(client, tmp_path, "half")
    client.post("/api/v1/endpoints", json=endpoint_body(simulator))
    # What an import killed halfway leaves: a VM with the template's name, not a template.
    folder = next(iter(inspector.folder("nestlab-templates")), None) or \
        inspector.dc.vmFolder.CreateFolder("nestlab-templates")
    pool = next(c for c in inspector.dc.hostFolder.childEntity if c.name == "DC0_C0").resourcePool
    spec = vim.vm.ConfigSpec(name="nestlab-tpl-half-1", memoryMB=64, numCPUs=1,
                             files=vim.vm.FileInfo(vmPathName="[LocalDS_0]"))
    folder.CreateVM_Task(config=spec, pool=pool)
    response = client.post("/api/v1/components/half-1/stage", json={"endpoint": "sim"})
    job = wait_for_job(client, response.get_json()["job_id"])
    assert job["status"] == "succeeded", job
    assert any("left half-imported" in e["message"] for e in job["events"])
    [vm] = template_vm(inspector, "nestlab-tpl-half-1")
    assert vm.config.template is True and vm.config.hardware.numCPU == 2


def test_stage_needs_a_ready_component(client, library_worker, tmp_path, simulator):
    ova = build_ova(tmp_path / "www" / "later.ova", name="later")
    library_with(client, tmp_path / "defs", definition("later", "1", ova.as_uri(),
                                                       ova.read_bytes()))
    client.post("/api/v1/endpoints", json=endpoint_body(simulator))
    response = client.post("/api/v1/components/later-1/stage", json={"endpoint": "sim"})
    assert response.status_code == 409
    assert "not downloaded" in response.get_json()["message"]
    missing = client.post("/api/v1/components/later-1/stage", json={"endpoint": "nope"})
    assert missing.status_code == 404


def test_malformed_ova_fails_the_download(client, library_worker, tmp_path):
    broken = build_ova(tmp_path / "www" / "broken.ova", name="broken",
                       descriptor="<Envelope><oops></Envelope> {name}{cpus}{memory_mb}"
                                  "{capacity_gb}{disk_file}{disk_size}")
    library_with(client, tmp_path / "defs", definition("broken", "1", broken.as_uri(),
                                                       broken.read_bytes()))
    job = enable(client, "broken-1")
    assert job["status"] == "failed"
    assert job["error"].startswith("the file is not a valid OVA: the OVF descriptor is not "
                                   "valid XML")


def test_stage_over_a_pinned_certificate(client, library_worker, tmp_path, simulator, inspector):
    import hashlib
    import ssl

    ready_ova(client, tmp_path, "pinned")
    pem = ssl.get_server_certificate((simulator.host, simulator.port))
    thumbprint = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()
    client.post("/api/v1/endpoints", json=endpoint_body(simulator, verify_tls=True,
                                                       thumbprint=thumbprint))
    response = client.post("/api/v1/components/pinned-1/stage", json={"endpoint": "sim"})
    job = wait_for_job(client, response.get_json()["job_id"])
    assert job["status"] == "succeeded", job
    [vm] = template_vm(inspector, "nestlab-tpl-pinned-1")
    assert vm.config.template is True
