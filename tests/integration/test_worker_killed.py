"""A deployer worker killed in the middle of a deployment: the job is redelivered
to another worker and finishes, without duplicate vSphere objects."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import select

from nestlab import devstack
from shared.models import Step
from tests.conftest import SECRET_KEY, endpoint_body
from tests.helpers import wait_for_job
from tests.vsphere_inspect import Inspector


@pytest.fixture
def slow_simulator(make_simulator):
    # Each CreateVM_Task takes a second: the VM step lasts long enough to be interrupted.
    return make_simulator("slow", "-method-delay", "CreateVM_Task=1000")


def start_worker_process(settings, name: str, log_dir) -> subprocess.Popen:
    env = dict(os.environ,
               DATABASE_URL=settings.database_url, REDIS_URL=settings.redis_url,
               NESTLAB_SECRET_KEY=SECRET_KEY, NESTLAB_VAR_DIR=str(settings.var_dir),
               NESTLAB_VISIBILITY_TIMEOUT="2", NESTLAB_JOB_STALE_AFTER="3")
    log = open(log_dir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "services.deployer.worker", "worker",
         "-Q", "deployer", "-c", "1", "--pool", "prefork", "-n", f"{name}@%h",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def kill(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def test_killed_worker_job_finishes_on_redelivery(client, app, settings, slow_simulator, tmp_path):
    sessions = app.extensions["nestlab"].sessions
    first = start_worker_process(settings, "first", tmp_path)
    second = None
    try:
        response = client.post("/api/v1/endpoints", json=endpoint_body(slow_simulator))
        assert response.status_code == 201
        job_id = client.post("/api/v1/zpods", json={
            "name": "survivor", "endpoint": "sim", "profile": "minimal"}).json["job_id"]

        def vm_step_running():
            with sessions() as session:
                step = session.scalar(select(Step).where(
                    Step.job_id == job_id, Step.name.like("VMs%")))
                return step is not None and step.status == "running"

        devstack.wait_until(vm_step_running, 60, "the VM step to start")
        time.sleep(1.5)  # one or two VMs made, the rest not yet
        kill(first)
        assert client.get(f"/api/v1/jobs/{job_id}").json["status"] == "running"

        second = start_worker_process(settings, "second", tmp_path)
        job = wait_for_job(client, job_id, timeout=120)
        assert job["status"] == "succeeded", job
        assert job["attempts"] >= 2
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
