"""A deployer worker killed in the middle of a deployment: the job is redelivered
to another worker and finishes, without duplicate vSphere objects."""

from __future__ import annotations

import os
import signal
import time

import pytest

from nestlab import devstack
from tests.conftest import endpoint_body
from tests.helpers import kill, start_worker_process, vm_step_running, wait_for_job
from tests.vsphere_inspect import Inspector


@pytest.fixture
def slow_simulator(make_simulator):
    # Each CreateVM_Task takes a second: the VM step lasts long enough to be interrupted.
    return make_simulator("slow", "-method-delay", "CreateVM_Task=1000")


def test_killed_worker_job_finishes_on_redelivery(client, app, settings, slow_simulator, tmp_path):
    sessions = app.extensions["nestlab"].sessions
    first = start_worker_process(settings, "first", tmp_path)
    second = None
    try:
        response = client.post("/api/v1/endpoints", json=endpoint_body(slow_simulator))
        assert response.status_code == 201
        job_id = client.post("/api/v1/zpods", json={
            "name": "survivor", "endpoint": "sim", "profile": "minimal"}).json["job_id"]

        devstack.wait_until(lambda: vm_step_running(sessions, job_id), 60,
                            "the VM step to start")
        time.sleep(1.5)  # one or two VMs made, the rest not yet
        kill(first)
        assert client.get(f"/api/v1/jobs/{job_id}").json["status"] == "running"

        second = start_worker_process(settings, "second", tmp_path)
        job = wait_for_job(client, job_id, timeout=120)
        assert job["status"] == "succeeded", job
        # The killed worker's component was taken over by the second worker.
        assert "job_retrying" in [e["kind"] for e in job["events"]]
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                kill(proc)

    inspector = Inspector(slow_simulator)
    try:
        names = sorted(vm.name for vm in inspector.vms_named("nestlab-survivor-"))
        assert names == sorted(f"nestlab-survivor-{h}"
                               for h in ("esxi1", "esxi2", "esxi3", "router"))
        assert len(inspector.folder("nestlab-survivor")) == 1
        assert len(inspector.portgroup("nestlab-survivor")) == 1
    finally:
        inspector.close()


def test_sigterm_lets_the_worker_finish_its_item(client, app, settings, slow_simulator, tmp_path):
    sessions = app.extensions["nestlab"].sessions
    worker = start_worker_process(settings, "graceful", tmp_path)
    second = None
    try:
        client.post("/api/v1/endpoints", json=endpoint_body(slow_simulator))
        job_id = client.post("/api/v1/zpods", json={
            "name": "graceful", "endpoint": "sim", "profile": "minimal"}).json["job_id"]
        devstack.wait_until(lambda: vm_step_running(sessions, job_id), 60,
                            "the VM step to start")
        # As `docker stop` does: SIGTERM to the worker's main process only.
        os.kill(worker.pid, signal.SIGTERM)
        assert worker.wait(timeout=120) == 0
        steps = client.get(f"/api/v1/jobs/{job_id}").json["steps"]
        assert not [s for s in steps if s["status"] == "running"], steps  # nothing cut short
        second = start_worker_process(settings, "second", tmp_path)
        job = wait_for_job(client, job_id, timeout=120)
        assert job["status"] == "succeeded", job
        assert job["attempts"] == 1
        assert "job_retrying" not in [e["kind"] for e in job["events"]]
    finally:
        for proc in (worker, second):
            if proc is not None and proc.poll() is None:
                kill(proc)
